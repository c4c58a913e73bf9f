#include "common/json.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigil::json {
namespace {

using ::testing::HasSubstr;

Value MustParse(std::string_view text) {
  absl::StatusOr<Value> value = Parse(text);
  EXPECT_TRUE(value.ok()) << text << ": " << value.status();
  return value.ok() ? *std::move(value) : Value();
}

std::string ParseError(std::string_view text) {
  absl::StatusOr<Value> value = Parse(text);
  if (value.ok()) return "parsed: " + Serialize(*value);
  EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(value.status().message());
}

std::string Nested(int depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

TEST(JsonValueTest, BuildsEveryType) {
  EXPECT_TRUE(Value().IsNull());
  EXPECT_TRUE(Value(nullptr).IsNull());
  EXPECT_TRUE(Value(true).AsBool());
  EXPECT_EQ(Value(42).AsInt(), 42);
  EXPECT_EQ(Value(int64_t{-7}).AsInt(), -7);
  EXPECT_EQ(Value(uint8_t{200}).AsInt(), 200);
  EXPECT_DOUBLE_EQ(Value(2.5).AsDouble(), 2.5);
  EXPECT_EQ(Value("a").AsString(), "a");
  EXPECT_EQ(Value(std::string("b")).AsString(), "b");
  EXPECT_EQ(Value(std::string_view("c")).AsString(), "c");
  char mutable_chars[] = "d";
  EXPECT_EQ(Value(mutable_chars).AsString(), "d");
  EXPECT_TRUE(Value::Array().AsArray().empty());
  EXPECT_TRUE(Value::Object().AsObject().empty());
}

TEST(JsonValueTest, IntegralDoublesAreStoredAsIntegers) {
  EXPECT_TRUE(Value(3.0).IsInt());
  EXPECT_EQ(Value(3.0).AsInt(), 3);
  EXPECT_EQ(Value(3.0), Value(3));
  EXPECT_FALSE(Value(3.5).IsInt());
  EXPECT_TRUE(Value(3.5).IsNumber());
  EXPECT_DOUBLE_EQ(Value(7).AsDouble(), 7.0);
  // 2^63 does not fit int64.
  EXPECT_FALSE(Value(9223372036854775808.0).IsInt());
  EXPECT_TRUE(Value(-9223372036854775808.0).IsInt());
  EXPECT_FALSE(Value(std::numeric_limits<uint64_t>::max()).IsInt());
  EXPECT_TRUE(Value(uint64_t{INT64_MAX}).IsInt());
}

TEST(JsonValueTest, NonFiniteDoublesBecomeNull) {
  EXPECT_TRUE(Value(std::numeric_limits<double>::quiet_NaN()).IsNull());
  EXPECT_TRUE(Value(std::numeric_limits<double>::infinity()).IsNull());
  EXPECT_EQ(Serialize(Value(-std::numeric_limits<double>::infinity())), "null");
}

TEST(JsonValueTest, ObjectKeepsInsertionOrderAndSetReplaces) {
  Value object = Value::Object().Set("z", 1).Set("a", 2).Set("m", 3);
  object.Set("a", "replaced");
  EXPECT_EQ(Serialize(object), R"({"z":1,"a":"replaced","m":3})");
  ASSERT_NE(object.Find("m"), nullptr);
  EXPECT_EQ(object.Find("m")->AsInt(), 3);
  EXPECT_EQ(object.Find("missing"), nullptr);
  EXPECT_EQ(Value(1).Find("a"), nullptr);
}

TEST(JsonValueTest, PushAppends) {
  Value array = Value::Array().Push(1).Push("two").Push(Value::Array());
  EXPECT_EQ(Serialize(array), R"([1,"two",[]])");
}

TEST(JsonValueTest, WrongAccessorAborts) {
  EXPECT_DEATH(Value(1).AsString(), "AsString called on a number");
  EXPECT_DEATH(Value(1.5).AsInt(), "AsInt called on a non-integer");
  EXPECT_DEATH(Value::Array().Set("a", 1), "Set called on an array");
}

TEST(JsonParseTest, Scalars) {
  EXPECT_TRUE(MustParse("null").IsNull());
  EXPECT_EQ(MustParse("true"), Value(true));
  EXPECT_EQ(MustParse("false"), Value(false));
  EXPECT_EQ(MustParse(R"("hi")"), Value("hi"));
  EXPECT_EQ(MustParse(" \t\r\n 5 \t\r\n "), Value(5));
}

TEST(JsonParseTest, Numbers) {
  EXPECT_EQ(MustParse("0").AsInt(), 0);
  EXPECT_EQ(MustParse("-0").AsInt(), 0);
  EXPECT_EQ(MustParse("-12").AsInt(), -12);
  EXPECT_EQ(MustParse("9223372036854775807").AsInt(), INT64_MAX);
  EXPECT_EQ(MustParse("-9223372036854775808").AsInt(), INT64_MIN);
  EXPECT_DOUBLE_EQ(MustParse("-0.5").AsDouble(), -0.5);
  EXPECT_DOUBLE_EQ(MustParse("1.25e2").AsDouble(), 125.0);
  EXPECT_DOUBLE_EQ(MustParse("1E-2").AsDouble(), 0.01);
  EXPECT_DOUBLE_EQ(MustParse("2e+3").AsDouble(), 2000.0);
  EXPECT_DOUBLE_EQ(MustParse("-3.5E+1").AsDouble(), -35.0);
  EXPECT_DOUBLE_EQ(MustParse("4.9e-324").AsDouble(), 4.9e-324);
  // Integral values written with a fraction or exponent are still integers.
  EXPECT_TRUE(MustParse("1e2").IsInt());
  EXPECT_EQ(MustParse("1.0").AsInt(), 1);
}

TEST(JsonParseTest, IntegersBeyondInt64BecomeDoubles) {
  Value big = MustParse("9223372036854775808");
  EXPECT_FALSE(big.IsInt());
  EXPECT_DOUBLE_EQ(big.AsDouble(), 9223372036854775808.0);
  Value huge = MustParse("-123456789012345678901234567890");
  EXPECT_DOUBLE_EQ(huge.AsDouble(), -1.2345678901234568e29);
}

TEST(JsonParseTest, EveryEscape) {
  EXPECT_EQ(MustParse(R"("\" \\ \/ \b \f \n \r \t")").AsString(),
            "\" \\ / \b \f \n \r \t");
  EXPECT_EQ(MustParse(R"("\u0041\u00e9\u20AC\u0000")").AsString(),
            std::string("A\xC3\xA9\xE2\x82\xAC\0", 7));
}

TEST(JsonParseTest, SurrogatePairsBecomeUtf8) {
  // U+1F600 and U+10FFFF, the largest code point.
  EXPECT_EQ(MustParse(R"("\uD83D\uDE00")").AsString(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(MustParse(R"("\udbff\udfff")").AsString(), "\xF4\x8F\xBF\xBF");
}

TEST(JsonParseTest, RawBytesAboveAsciiPassThrough) {
  EXPECT_EQ(MustParse("\"caf\xC3\xA9 \xFF\"").AsString(), "caf\xC3\xA9 \xFF");
}

TEST(JsonParseTest, EmptyAndNestedContainers) {
  EXPECT_TRUE(MustParse("{}").AsObject().empty());
  EXPECT_TRUE(MustParse("[]").AsArray().empty());
  EXPECT_TRUE(MustParse("[ ]").AsArray().empty());
  EXPECT_TRUE(MustParse("{ }").AsObject().empty());
  Value value = MustParse(R"({"a": [1, {"b": [[], {}]}, "c"], "d": {}})");
  const Value& b = value.Find("a")->AsArray()[1];
  EXPECT_EQ(b.Find("b")->AsArray().size(), 2u);
  EXPECT_EQ(Serialize(value), R"({"a":[1,{"b":[[],{}]},"c"],"d":{}})");
}

TEST(JsonParseTest, ObjectKeepsInputOrder) {
  EXPECT_EQ(Serialize(MustParse(R"({"b":1,"a":2,"c":3})")),
            R"({"b":1,"a":2,"c":3})");
}

TEST(JsonParseTest, DepthLimit) {
  EXPECT_TRUE(Parse(Nested(kMaxDepth)).ok());
  EXPECT_EQ(ParseError(Nested(kMaxDepth + 1)),
            "at byte 64: arrays and objects nested deeper than 64 levels");
  std::string objects;
  for (int i = 0; i <= kMaxDepth; ++i) objects += R"({"a":)";
  EXPECT_EQ(ParseError(objects),
            "at byte 320: arrays and objects nested deeper than 64 levels");
  // Far past the limit must fail cleanly, not overflow the stack.
  EXPECT_THAT(ParseError(Nested(1000000)), HasSubstr("nested deeper"));
}

TEST(JsonParseTest, LargeObjectIsNotQuadratic) {
  std::string text = "{";
  for (int i = 0; i < 200000; ++i) {
    if (i > 0) text += ",";
    text += "\"k" + std::to_string(i) + "\":" + std::to_string(i);
  }
  text += "}";
  Value value = MustParse(text);
  EXPECT_EQ(value.AsObject().size(), 200000u);
  EXPECT_EQ(value.AsObject().back().second.AsInt(), 199999);
}

TEST(JsonParseTest, MalformedInputsSayWhatAndWhere) {
  struct Case {
    std::string_view text;
    std::string_view error;
  };
  const Case kCases[] = {
      {"", "at byte 0: expected a value, got end of input"},
      {"   ", "at byte 3: expected a value, got end of input"},
      {"[1,]", "at byte 3: expected a value, got ']'"},
      {R"({"a":1,})", "at byte 7: expected a string key, got '}'"},
      {R"({"a" 1})", "at byte 5: expected ':' after object key, got '1'"},
      {R"({"a":1 "b":2})",
       "at byte 7: expected ',' or '}' in object, got '\"'"},
      {R"({"a":1)",
       "at byte 6: expected ',' or '}' in object, got end of "
       "input"},
      {"{1:2}", "at byte 1: expected a string key, got '1'"},
      {"{'a':1}", "at byte 1: expected a string key, got '''"},
      {"[1 2]", "at byte 3: expected ',' or ']' in array, got '2'"},
      {"[1", "at byte 2: expected ',' or ']' in array, got end of input"},
      {"[1,,2]", "at byte 3: expected a value, got ','"},
      {"tru", "at byte 3: expected 'true', got end of input"},
      {"trUe", "at byte 2: expected 'true', got 'U'"},
      {"nul", "at byte 3: expected 'null', got end of input"},
      {"falsy", "at byte 4: expected 'false', got 'y'"},
      {"truex", "at byte 4: expected end of input after value, got 'x'"},
      {"NaN", "at byte 0: expected a value, got 'N'"},
      {"Infinity", "at byte 0: expected a value, got 'I'"},
      {"-Infinity", "at byte 1: expected a digit, got 'I'"},
      {"01", "at byte 0: leading zero in number"},
      {"-01", "at byte 1: leading zero in number"},
      {"-", "at byte 1: expected a digit, got end of input"},
      {"+1", "at byte 0: expected a value, got '+'"},
      {".5", "at byte 0: expected a value, got '.'"},
      {"1.", "at byte 2: expected a digit after '.', got end of input"},
      {"1.e5", "at byte 2: expected a digit after '.', got 'e'"},
      {"1e", "at byte 2: expected a digit in exponent, got end of input"},
      {"1e+", "at byte 3: expected a digit in exponent, got end of input"},
      {"0x1F", "at byte 1: expected end of input after value, got 'x'"},
      {"1e400", "at byte 0: number out of range"},
      {"[-1e-400]", "at byte 1: number out of range"},
      {"1 2", "at byte 2: expected end of input after value, got '2'"},
      {"{} {}", "at byte 3: expected end of input after value, got '{'"},
      {"[1] // comment",
       "at byte 4: expected end of input after value, "
       "got '/'"},
      {"/* c */ 1", "at byte 0: expected a value, got '/'"},
      {R"("abc)", "at byte 0: unterminated string"},
      {R"(["abc\")", "at byte 1: unterminated string"},
      {"\"a\x01\"", "at byte 2: unescaped control character 0x01 in string"},
      {"\"a\nb\"", "at byte 2: unescaped control character 0x0A in string"},
      {"\"\t\"", "at byte 1: unescaped control character 0x09 in string"},
      {R"("\x")",
       "at byte 2: expected one of \"\\/bfnrtu after '\\' in string, got 'x'"},
      {R"("\U0041")",
       "at byte 2: expected one of \"\\/bfnrtu after '\\' in string, got 'U'"},
      {R"("\u12G4")", "at byte 5: expected a hex digit in \\u escape, got 'G'"},
      {R"("\u12")", "at byte 5: expected a hex digit in \\u escape, got '\"'"},
      {R"("\uD800")",
       "at byte 1: high surrogate \\uD800 is not followed by a low surrogate"},
      {R"("\uD800x")",
       "at byte 1: high surrogate \\uD800 is not followed by a low surrogate"},
      {R"("\uD800\u0041")",
       "at byte 1: high surrogate \\uD800 is not followed by a low surrogate"},
      {R"("\uD800\uD800")",
       "at byte 1: high surrogate \\uD800 is not followed by a low surrogate"},
      {R"("\uD800\uZ")",
       "at byte 9: expected a hex digit in \\u escape, got 'Z'"},
      {R"("\uDC00")", "at byte 1: unpaired low surrogate \\uDC00"},
      {"\xEF\xBB\xBF{}", "at byte 0: expected a value, got byte 0xEF"},
      {std::string_view("1\x00", 2),
       "at byte 1: expected end of input after value, got byte 0x00"},
      {"\f1", "at byte 0: expected a value, got byte 0x0C"},
      {R"({"a":1,"a":2})", "at byte 7: duplicate key \"a\" in object"},
      {R"({"a":1,"\u0061":2})", "at byte 7: duplicate key \"a\" in object"},
  };
  for (const Case& c : kCases) {
    EXPECT_EQ(ParseError(c.text), c.error) << "input: " << c.text;
  }
}

TEST(JsonParseTest, DuplicateKeysInDifferentObjectsAreFine) {
  EXPECT_TRUE(Parse(R"({"a":{"a":1},"b":{"a":2}})").ok());
}

TEST(JsonSerializeTest, EscapesEverythingThatNeedsIt) {
  std::string all_controls;
  for (int c = 0; c < 0x20; ++c) all_controls += static_cast<char>(c);
  EXPECT_EQ(Serialize(Value(all_controls)),
            "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
            "\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
            "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
            "\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\"");
  EXPECT_EQ(Serialize(Value("quote \" backslash \\ slash / \xC3\xA9")),
            "\"quote \\\" backslash \\\\ slash / \xC3\xA9\"");
}

TEST(JsonSerializeTest, OutputIsOneLine) {
  Value value = Value::Object()
                    .Set("text", "line one\nline two\r\n")
                    .Set("list", Value::Array().Push("\n").Push(1.5));
  std::string line = Serialize(value);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line, R"({"text":"line one\nline two\r\n","list":["\n",1.5]})");
}

TEST(JsonSerializeTest, Numbers) {
  EXPECT_EQ(Serialize(Value(0)), "0");
  EXPECT_EQ(Serialize(Value(-42)), "-42");
  EXPECT_EQ(Serialize(Value(INT64_MIN)), "-9223372036854775808");
  EXPECT_EQ(Serialize(Value(INT64_MAX)), "9223372036854775807");
  EXPECT_EQ(Serialize(Value(100.0)), "100");
  EXPECT_EQ(Serialize(Value(0.1)), "0.1");
  EXPECT_EQ(Serialize(Value(-2.5e-7)), "-2.5e-07");
  EXPECT_EQ(Serialize(Value(1e300)), "1e+300");
}

TEST(JsonRoundTripTest, DoublesSurviveExactly) {
  const double kDoubles[] = {0.1,
                             1.0 / 3.0,
                             -2.718281828459045,
                             1e-300,
                             4.9e-324,
                             1.7976931348623157e308,
                             9223372036854775808.0,
                             18446744073709551616.0,
                             123456.789e10};
  for (double d : kDoubles) {
    std::string text = Serialize(Value(d));
    absl::StatusOr<Value> back = Parse(text);
    ASSERT_TRUE(back.ok()) << text << ": " << back.status();
    EXPECT_EQ(back->AsDouble(), d) << text;
  }
}

TEST(JsonRoundTripTest, DocumentsSurviveParseSerializeParse) {
  const std::string_view kDocuments[] = {
      "null",
      "[true,false,null]",
      R"({"cmd":"restart","pid":4242,"grace_s":2.5,"args":["-v","--x=\"y\""]})",
      R"({"nested":{"deeper":{"deepest":[[[]],{}]}}})",
      R"(["\u0000\u001f","\b\f\n\r\t","\\\/\"","\ud83d\ude00"])",
      R"([-9223372036854775808,9223372036854775807,1e+300,-5e-324])",
      R"({"":"empty key"})",
  };
  for (std::string_view document : kDocuments) {
    Value first = MustParse(document);
    std::string serialized = Serialize(first);
    Value second = MustParse(serialized);
    EXPECT_EQ(first, second) << document;
    EXPECT_EQ(Serialize(second), serialized) << document;
  }
}

TEST(JsonGetTest, TypedGettersReturnValues) {
  Value request = MustParse(
      R"({"cmd":"stop","pid":12,"force":true,"ratio":0.5,"args":["a"],)"
      R"("opts":{"k":1}})");
  EXPECT_EQ(*GetString(request, "cmd"), "stop");
  EXPECT_EQ(*GetInt(request, "pid"), 12);
  EXPECT_EQ(*GetBool(request, "force"), true);
  EXPECT_DOUBLE_EQ(*GetDouble(request, "ratio"), 0.5);
  EXPECT_DOUBLE_EQ(*GetDouble(request, "pid"), 12.0);
  EXPECT_EQ((*GetArray(request, "args"))->AsArray().size(), 1u);
  EXPECT_EQ((*GetObject(request, "opts"))->Find("k")->AsInt(), 1);
}

TEST(JsonGetTest, ErrorsNameTheField) {
  Value request = MustParse(
      R"({"cmd":3,"pid":1.5,"big":1e19,"flag":"yes","list":{},"obj":[],)"
      R"("nothing":null})");
  auto message = [](const absl::Status& status) {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    return std::string(status.message());
  };
  EXPECT_EQ(message(GetString(request, "cmd").status()),
            R"(field "cmd": expected a string, got number)");
  EXPECT_EQ(message(GetString(request, "absent").status()),
            R"(field "absent" is missing)");
  EXPECT_EQ(message(GetInt(request, "pid").status()),
            R"(field "pid": expected an integer, got number 1.5)");
  EXPECT_EQ(message(GetInt(request, "big").status()),
            R"(field "big": expected an integer, got number 1e+19)");
  EXPECT_EQ(message(GetInt(request, "flag").status()),
            R"(field "flag": expected a number, got string)");
  EXPECT_EQ(message(GetBool(request, "flag").status()),
            R"(field "flag": expected a boolean, got string)");
  EXPECT_EQ(message(GetDouble(request, "nothing").status()),
            R"(field "nothing": expected a number, got null)");
  EXPECT_EQ(message(GetArray(request, "list").status()),
            R"(field "list": expected an array, got object)");
  EXPECT_EQ(message(GetObject(request, "obj").status()),
            R"(field "obj": expected an object, got array)");
  EXPECT_EQ(message(GetString(Value::Array(), "cmd").status()),
            R"(looking up field "cmd": expected an object, got array)");
}

}  // namespace
}  // namespace vigil::json
