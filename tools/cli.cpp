// cli: option parsing and shared helpers of the allconv command line.
#include "cli.hpp"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "io/file.hpp"
#include "net/zoo.hpp"

namespace allconv {

Args::Args(int argc, char** argv, const std::vector<std::string>& valued, const std::vector<std::string>& flags) {
    auto listed = [](const std::vector<std::string>& list, const std::string& s) {
        for (const std::string& x : list)
            if (x == s) return true;
        return false;
    };
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
            std::string name = a.substr(2), value;
            std::size_t eq = name.find('=');
            if (eq != std::string::npos) {
                value = name.substr(eq + 1);
                name.resize(eq);
            }
            if (listed(flags, name)) {
                if (eq != std::string::npos) throw UsageError("--" + name + " takes no value");
                values_[name] = "1";
            } else if (listed(valued, name)) {
                if (eq == std::string::npos) {
                    if (i + 1 >= argc) throw UsageError("--" + name + " needs a value");
                    value = argv[++i];
                }
                values_[name] = value;
            } else {
                throw UsageError("unknown option --" + name + " (see --help)");
            }
        } else {
            positional_.push_back(a);
        }
    }
}

std::string Args::str(const std::string& name, const std::string& fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
}

int Args::integer(const std::string& name, int fallback, int min, int max) const {
    if (!has(name)) return fallback;
    const std::string& s = values_.at(name);
    char* end = nullptr;
    long v = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || v < min || v > max)
        throw UsageError("--" + name + ": expected a whole number from " + std::to_string(min) + " to " +
                         std::to_string(max) + ", got '" + s + "'");
    return int(v);
}

double Args::real(const std::string& name, double fallback, double min, double max) const {
    if (!has(name)) return fallback;
    const std::string& s = values_.at(name);
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !(v >= min && v <= max)) {
        std::ostringstream m;
        m << "--" << name << ": expected a number from " << min << " to " << max << ", got '" << s << "'";
        throw UsageError(m.str());
    }
    return v;
}

const std::vector<std::string>& arch_options() {
    static const std::vector<std::string> names = {"width", "input", "classes"};
    return names;
}

Arch load_arch(const std::string& name_or_file, const Args& args) {
    if (is_zoo_name(name_or_file)) {
        ZooOptions o;
        o.width = args.real("width", 1.0, 1e-3, 64.0);
        o.classes = args.integer("classes", 0, 1, 100000);
        if (args.has("input")) {
            std::string in = args.str("input", "");
            int c = 0, h = 0, w = 0;
            char x1 = 0, x2 = 0;
            std::istringstream s(in);
            if (!(s >> c >> x1 >> h >> x2 >> w) || x1 != 'x' || x2 != 'x' || !s.eof() || c < 1 || h < 1 || w < 1 ||
                c > 4096 || h > 16384 || w > 16384)
                throw UsageError("--input: expected CxHxW like 1x28x28, got '" + in + "'");
            o.input = Shape{1, c, h, w};
        }
        return parse_arch(zoo_spec(name_or_file, o), name_or_file);
    }
    for (const std::string& option : arch_options())
        if (args.has(option))
            throw UsageError("--" + option + " applies to zoo models only; " + name_or_file + " is a spec file (edit it instead)");
    std::ifstream probe(name_or_file);
    if (!probe) {
        std::string names;
        for (const std::string& n : zoo_names()) names += (names.empty() ? "" : ", ") + n;
        throw UsageError(name_or_file + ": neither a zoo model nor a readable spec file (zoo: " + names + ")");
    }
    return parse_arch(read_text_file(name_or_file), name_or_file);
}

void check_outputs(const std::vector<std::pair<std::string, std::string>>& outputs, const std::vector<std::string>& inputs) {
    for (std::size_t i = 0; i < outputs.size(); ++i) {
        const auto& [option, path] = outputs[i];
        if (path.empty()) throw UsageError("--" + option + ": an empty path");
        check_output_path(path, "--" + option);
        for (std::size_t j = 0; j < i; ++j)
            if (outputs[j].second == path) throw UsageError("--" + outputs[j].first + " and --" + option + " name the same file");
        for (const std::string& in : inputs) check_not_same_file(path, in, "--" + option);
    }
}

std::string with_commas(unsigned long long v) {
    std::string digits = std::to_string(v), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

bool wants_help(int argc, char** argv, const char* help) {
    for (int i = 0; i < argc; ++i)
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            std::cout << help;
            return true;
        }
    return false;
}

} // namespace allconv
