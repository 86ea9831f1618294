#include "schemas/json.h"

#include <flatbuffers/idl.h>
#include <fmt/format.h>

namespace lf {
std::string_view schema_text();  // Generated: schemas/embed_schema.cmake.
}

namespace lf::codec {

namespace {

std::string quote(std::string_view s) {
  std::string out;
  flatbuffers::EscapeString(s.data(), s.size(), &out, /*allow_non_utf8=*/true,
                            /*natural_utf8=*/false);
  return out;
}

}  // namespace

JsonCodec::JsonCodec() { reset_parser(); }
JsonCodec::~JsonCodec() = default;

void JsonCodec::reset_parser() {
  flatbuffers::IDLOptions options;
  options.strict_json = true;
  options.indent_step = -1;  // One line, no line feeds.
  options.output_default_scalars_in_json = false;
  options.output_enum_identifiers = true;
  // Binary input may carry strings that are not UTF-8: escape them, never fail.
  options.allow_non_utf8 = true;
  parser_ = std::make_unique<flatbuffers::Parser>(options);
  const std::string text(schema_text());
  LF_ASSERT(parser_->Parse(text.c_str(), nullptr, "ledgerflow.fbs"));  // Our own schema.
  LF_ASSERT(parser_->SetRootType("Command"));
  parser_->file_identifier_ = fb::CommandIdentifier();
}

Result<std::string> JsonCodec::command_json_to_buffer(std::string_view json) {
  if (json.size() > json_line_bytes_max) {
    return Status::invalid_argument(
        fmt::format("line of {} bytes exceeds {} bytes", json.size(), json_line_bytes_max));
  }
  // The parser wants a NUL-terminated string; an embedded NUL would cut the
  // input short and silently accept a prefix.
  if (json.find('\0') != std::string_view::npos) {
    return Status::invalid_argument("line contains a NUL byte");
  }
  const std::string source(json);
  if (!parser_->ParseJson(source.c_str())) {
    std::string error = parser_->error_;
    reset_parser();  // A failed parse may leave partial state behind.
    // The parser prefixes errors with a file name and line: keep the message.
    const auto at = error.find("error: ");
    if (at != std::string::npos) error = error.substr(at + 7);
    while (!error.empty() && (error.back() == '\n' || error.back() == ' ')) error.pop_back();
    return Status::invalid_argument("malformed command JSON: " + error);
  }
  const flatbuffers::FlatBufferBuilder& b = parser_->builder_;
  std::string bytes(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  return bytes;
}

Result<ledger::Command> JsonCodec::parse_command(std::string_view json) {
  Result<std::string> bytes = command_json_to_buffer(json);
  if (!bytes.is_ok()) return bytes.status();
  return decode_command(*bytes);
}

std::string JsonCodec::table_to_json(const void* table, const char* table_name) {
  std::string text;
  if (!flatbuffers::GenerateTextFromTable(*parser_, table, table_name, &text)) {
    return R"({"error":"not representable as JSON"})";
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string JsonCodec::command_to_json(const ledger::Command& command) {
  const std::string bytes = encode_command(command);
  return table_to_json(fb::GetCommand(bytes.data()), "ledgerflow.schema.Command");
}

std::string JsonCodec::event_to_json(const OpenedEvent& event) {
  const void* table = flatbuffers::GetRoot<fb::Event>(event.event_bytes.data());
  return fmt::format(R"({{"seq":{},"hash":"{}","prev_hash":"{}","event":{}}})", event.event.seq,
                     to_hex(event.hash), to_hex(event.prev_hash),
                     table_to_json(table, "ledgerflow.schema.Event"));
}

std::string JsonCodec::outcome_to_json(const ledger::Outcome& o) {
  std::string json =
      fmt::format(R"({{"command_id":{},"status":"{}")", quote(o.command_id),
                  o.status == ledger::OutcomeStatus::accepted ? "accepted" : "rejected");
  if (o.status == ledger::OutcomeStatus::rejected) {
    json += fmt::format(R"(,"reason":"{}")", ledger::reject_reason_name(o.reason));
    if (!o.field.empty()) json += fmt::format(R"(,"field":{})", quote(o.field));
    if (o.failed_step >= 0) json += fmt::format(R"(,"failed_step":{})", o.failed_step);
  }
  json += fmt::format(R"(,"first_seq":{},"event_count":{})", o.first_seq, o.event_count);
  if (o.duplicate) json += R"(,"duplicate":true)";
  json += "}";
  return json;
}

}  // namespace lf::codec
