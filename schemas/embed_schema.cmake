# Writes OUTPUT, a C++ file defining lf::schema_text(): the text of INPUT.
file(READ ${INPUT} text)
file(WRITE ${OUTPUT} "// Generated from ledgerflow.fbs: do not edit.\n#include <string_view>\nnamespace lf {\nstd::string_view schema_text() {\n  static constexpr char text[] = R\"lfschema(${text})lfschema\";\n  return {text, sizeof(text) - 1};\n}\n}  // namespace lf\n")
