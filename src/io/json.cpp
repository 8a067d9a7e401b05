// json: recursive-descent parser (RFC 8259) and writer.
#include "json.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <stdexcept>

namespace allconv {

namespace {
[[noreturn]] void type_error(const char* want) { throw std::runtime_error(std::string("JSON: expected ") + want); }
} // namespace

double Json::number() const {
    if (type_ != Type::number) type_error("a number");
    return number_;
}
int Json::integer() const {
    if (type_ != Type::number || number_ != std::floor(number_) || std::fabs(number_) > 2e9) type_error("a whole number");
    return int(number_);
}
const std::string& Json::str() const {
    if (type_ != Type::string) type_error("a string");
    return string_;
}
bool Json::boolean() const {
    if (type_ != Type::boolean) type_error("true or false");
    return bool_;
}
const std::vector<Json>& Json::items() const {
    if (type_ != Type::array) type_error("an array");
    return items_;
}
const std::vector<std::pair<std::string, Json>>& Json::members() const {
    if (type_ != Type::object) type_error("an object");
    return members_;
}
bool Json::has(const std::string& key) const {
    if (type_ != Type::object) return false;
    for (const auto& m : members_)
        if (m.first == key) return true;
    return false;
}
const Json& Json::at(const std::string& key) const {
    for (const auto& m : members())
        if (m.first == key) return m.second;
    throw std::runtime_error("JSON: missing key '" + key + "'");
}
Json& Json::at(const std::string& key) {
    return const_cast<Json&>(static_cast<const Json&>(*this).at(key)); // the same lookup, on a mutable object
}

Json& Json::item(std::size_t i) {
    if (type_ != Type::array) type_error("an array");
    return items_.at(i);
}

Json& Json::push(Json v) {
    if (type_ != Type::array) type_error("an array");
    items_.push_back(std::move(v));
    return items_.back();
}
Json& Json::append(std::string key, Json v) {
    if (type_ != Type::object) type_error("an object");
    members_.emplace_back(std::move(key), std::move(v));
    return members_.back().second;
}

Json& Json::set(const std::string& key, Json v) {
    if (type_ != Type::object) type_error("an object");
    for (auto& m : members_)
        if (m.first == key) return m.second = std::move(v);
    members_.emplace_back(key, std::move(v));
    return members_.back().second;
}

namespace {

void dump_string(std::string& out, const std::string& s) {
    out += '"';
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += char(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += char(c);
        }
    }
    out += '"';
}

std::string format_number(double v) {
    if (v == std::floor(v) && std::fabs(v) < 1e15) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.0f", v);
        return buf;
    }
    for (int precision = 1; precision <= 17; ++precision) { // shortest text that reads back exactly
        char buf[40];
        std::snprintf(buf, sizeof buf, "%.*g", precision, v);
        if (std::strtod(buf, nullptr) == v) return buf;
    }
    return "0";
}

} // namespace

void Json::dump_to(std::string& out, int indent) const {
    switch (type_) {
    case Type::null: out += "null"; break;
    case Type::boolean: out += bool_ ? "true" : "false"; break;
    case Type::number:
        if (!std::isfinite(number_)) throw std::runtime_error("JSON cannot hold NaN or infinity");
        out += format_number(number_);
        break;
    case Type::string: dump_string(out, string_); break;
    case Type::array: dump_array(out, indent); break;
    case Type::object: dump_object(out, indent); break;
    }
}

void Json::dump_array(std::string& out, int indent) const {
    bool scalars = true;
    for (const Json& j : items_) scalars = scalars && j.type_ != Type::array && j.type_ != Type::object;
    if (scalars) { // short arrays of numbers stay on one line
        out += '[';
        for (std::size_t i = 0; i < items_.size(); ++i) {
            if (i) out += ", ";
            items_[i].dump_to(out, indent);
        }
        out += ']';
        return;
    }
    out += "[\n";
    for (std::size_t i = 0; i < items_.size(); ++i) {
        out += std::string(std::size_t(indent + 2), ' ');
        items_[i].dump_to(out, indent + 2);
        out += i + 1 < items_.size() ? ",\n" : "\n";
    }
    out += std::string(std::size_t(indent), ' ') + "]";
}

void Json::dump_object(std::string& out, int indent) const {
    if (members_.empty()) {
        out += "{}";
        return;
    }
    out += "{\n";
    for (std::size_t i = 0; i < members_.size(); ++i) {
        out += std::string(std::size_t(indent + 2), ' ');
        dump_string(out, members_[i].first);
        out += ": ";
        members_[i].second.dump_to(out, indent + 2);
        out += i + 1 < members_.size() ? ",\n" : "\n";
    }
    out += std::string(std::size_t(indent), ' ') + "}";
}

std::string Json::dump() const {
    std::string out;
    dump_to(out, 0);
    return out + "\n";
}

namespace {

class Parser {
public:
    Parser(const std::string& text, const std::string& name) : s_(text), name_(name) {}

    Json document() {
        Json v = value(0);
        space();
        if (pos_ != s_.size()) fail("unexpected text after the end");
        return v;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw std::runtime_error(name_ + ": invalid JSON: " + what + " at byte " + std::to_string(pos_));
    }
    void space() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) ++pos_;
    }
    bool eat(char c) {
        space();
        if (pos_ < s_.size() && s_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    void expect_word(const char* w) {
        for (const char* p = w; *p; ++p, ++pos_)
            if (pos_ >= s_.size() || s_[pos_] != *p) fail(std::string("expected '") + w + "'");
    }

    Json value(int depth) {
        if (depth > 64) fail("nesting deeper than 64 levels");
        space();
        if (pos_ >= s_.size()) fail("unexpected end");
        char c = s_[pos_];
        if (c == '{') return object(depth);
        if (c == '[') return array(depth);
        if (c == '"') return Json(string());
        if (c == 't') { expect_word("true"); return Json(true); }
        if (c == 'f') { expect_word("false"); return Json(false); }
        if (c == 'n') { expect_word("null"); return Json(); }
        return Json(number());
    }

    Json object(int depth) {
        ++pos_;
        Json o = Json::object();
        if (eat('}')) return o;
        std::set<std::string> keys; // duplicates found in log time, whatever the object's size
        do {
            space();
            if (pos_ >= s_.size() || s_[pos_] != '"') fail("expected a key string");
            std::string key = string();
            if (!eat(':')) fail("expected ':'");
            if (!keys.insert(key).second) fail("duplicate key '" + key + "'");
            o.append(std::move(key), value(depth + 1));
        } while (eat(','));
        if (!eat('}')) fail("expected ',' or '}'");
        return o;
    }

    Json array(int depth) {
        ++pos_;
        Json a = Json::array();
        if (eat(']')) return a;
        do a.push(value(depth + 1));
        while (eat(','));
        if (!eat(']')) fail("expected ',' or ']'");
        return a;
    }

    std::string string() {
        ++pos_; // opening quote
        std::string out;
        for (;;) {
            if (pos_ >= s_.size()) fail("unterminated string");
            char c = s_[pos_++];
            if (c == '"') return out;
            if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
            if (c != '\\') {
                out += c;
                continue;
            }
            if (pos_ >= s_.size()) fail("unterminated escape");
            char e = s_[pos_++];
            switch (e) {
            case '"': case '\\': case '/': out += e; break;
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case 'r': out += '\r'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'u': {
                if (pos_ + 4 > s_.size()) fail("short \\u escape");
                unsigned v = 0;
                for (int i = 0; i < 4; ++i) {
                    char h = s_[pos_++];
                    v = v * 16 + unsigned(h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : (fail("bad \\u escape"), 0));
                }
                if (v < 0x80) out += char(v); // enough for manifests; wider code points as UTF-8:
                else if (v < 0x800) { out += char(0xC0 | (v >> 6)); out += char(0x80 | (v & 0x3F)); }
                else { out += char(0xE0 | (v >> 12)); out += char(0x80 | ((v >> 6) & 0x3F)); out += char(0x80 | (v & 0x3F)); }
                break;
            }
            default: fail("bad escape");
            }
        }
    }

    // RFC 8259: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?  ("01", "1." and ".5" are not numbers).
    double number() {
        const std::size_t start = pos_;
        auto digits = [&]() {
            const std::size_t from = pos_;
            while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
            return pos_ - from;
        };
        if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
        if (pos_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[pos_]))) fail("expected a value");
        if (s_[pos_] == '0') ++pos_;
        else digits();
        if (pos_ < s_.size() && s_[pos_] == '.') {
            ++pos_;
            if (digits() == 0) fail("expected digits after the decimal point");
        }
        if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
            ++pos_;
            if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
            if (digits() == 0) fail("expected digits in the exponent");
        }
        if (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) fail("a number may not start with 0");
        if (pos_ - start > 64) fail("number too long");
        const std::string text = s_.substr(start, pos_ - start);
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (*end != '\0' || !std::isfinite(v)) fail("malformed number '" + text + "'");
        return v;
    }

    const std::string& s_;
    const std::string& name_;
    std::size_t pos_ = 0;
};

} // namespace

Json parse_json(const std::string& text, const std::string& name) { return Parser(text, name).document(); }

} // namespace allconv
