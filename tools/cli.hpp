// cli: what every allconv sub-command shares: option parsing, errors, loading
// an architecture by zoo name or spec file.
#pragma once
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "net/arch.hpp"

namespace allconv {

// A mistake in how the command was called: exit status 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// "--name value" options, "--flag" switches and positional words.
class Args {
public:
    // `valued`: options that take a value; `flags`: options that do not.
    Args(int argc, char** argv, const std::vector<std::string>& valued, const std::vector<std::string>& flags);
    bool has(const std::string& name) const { return values_.count(name) > 0; }
    std::string str(const std::string& name, const std::string& fallback) const;
    int integer(const std::string& name, int fallback, int min, int max) const;
    double real(const std::string& name, double fallback, double min, double max) const;
    const std::vector<std::string>& positional() const { return positional_; }

private:
    std::map<std::string, std::string> values_;
    std::vector<std::string> positional_;
};

// A zoo name (with --width, --input CxHxW, --classes from args) or a spec file.
Arch load_arch(const std::string& name_or_file, const Args& args);
// Options load_arch reads, to add to a command's `valued` list.
const std::vector<std::string>& arch_options();
// Before any work: each output (option name, path) can be written, no two
// outputs are the same file, and no output is also one of the inputs.
void check_outputs(const std::vector<std::pair<std::string, std::string>>& outputs, const std::vector<std::string>& inputs);

// "1,234,567"
std::string with_commas(unsigned long long v);

struct Command {
    const char* name;
    const char* summary;
    const char* help; // full --help text
    std::function<int(int argc, char** argv)> run;
};
const std::vector<Command>& commands();

// Prints `help` and returns true when argv holds --help or -h.
bool wants_help(int argc, char** argv, const char* help);

} // namespace allconv
