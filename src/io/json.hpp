// json: a small JSON value with a strict parser and a deterministic writer,
// for the golden suite's manifest. Objects keep their keys in insertion order
// so a written file is byte-for-byte reproducible.
#pragma once
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace allconv {

class Json {
public:
    enum class Type { null, boolean, number, string, array, object };

    Json() = default;
    Json(bool b) : type_(Type::boolean), bool_(b) {}
    Json(double n) : type_(Type::number), number_(n) {}
    Json(int n) : type_(Type::number), number_(n) {}
    Json(long n) : type_(Type::number), number_(double(n)) {}
    Json(const char* s) : type_(Type::string), string_(s) {}
    Json(std::string s) : type_(Type::string), string_(std::move(s)) {}
    static Json array() { Json j; j.type_ = Type::array; return j; }
    static Json object() { Json j; j.type_ = Type::object; return j; }

    // Accessors throw std::runtime_error naming what was expected.
    double number() const;
    int integer() const; // a whole number that fits an int
    const std::string& str() const;
    bool boolean() const;
    const std::vector<Json>& items() const;
    const std::vector<std::pair<std::string, Json>>& members() const;
    const Json& at(const std::string& key) const; // object member; throws when missing
    Json& at(const std::string& key);
    bool has(const std::string& key) const;

    Json& push(Json v);                           // arrays
    Json& item(std::size_t i);                    // arrays, element i (checked)
    Json& set(const std::string& key, Json v);    // objects (replaces an existing key)
    Json& append(std::string key, Json v);        // objects, the key known to be new

    // Two-space indented text, numbers in the shortest form that round-trips.
    std::string dump() const;

private:
    void dump_to(std::string& out, int indent) const;
    void dump_array(std::string& out, int indent) const;
    void dump_object(std::string& out, int indent) const;
    Type type_ = Type::null;
    bool bool_ = false;
    double number_ = 0;
    std::string string_;
    std::vector<Json> items_;
    std::vector<std::pair<std::string, Json>> members_;
};

// Throws std::runtime_error("<name>: <problem> at byte N"). Nesting is limited
// to 64 levels and strings to the input's size, so hostile input cannot blow
// the stack or the memory.
Json parse_json(const std::string& text, const std::string& name);

} // namespace allconv
