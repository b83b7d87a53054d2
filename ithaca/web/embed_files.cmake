# Turns the files of web/demo/ into a C++ include of byte arrays, at build time (cmake -P), so
# the demo page ships inside the ithaca binary. Called by ithaca/web/CMakeLists.txt with
#   -DOUTPUT=<file.inc> -DBASE_DIR=<folder>   (every file directly in it but dotfiles and backups~)
# The output is rewritten only when its content changes, so an unchanged page rebuilds nothing.
cmake_minimum_required(VERSION 3.25)
set(_out "// Generated from web/demo/ by ithaca/web/embed_files.cmake. Do not edit.\n")
set(_table "")
set(_index 0)
string(REPEAT "0x..," 16 _line_of_16)
file(GLOB _files LIST_DIRECTORIES false ${BASE_DIR}/*)
list(SORT _files)
foreach(_file IN LISTS _files)
  file(RELATIVE_PATH _name ${BASE_DIR} ${_file})
  if(_name MATCHES "^\\." OR _name MATCHES "~$")  # editor and OS leftovers
    continue()
  endif()
  file(READ ${_file} _hex HEX)
  string(LENGTH "${_hex}" _hex_length)
  math(EXPR _size "${_hex_length} / 2")
  # Two hex digits per byte -> "0xNN,"; a line break every 16 bytes keeps the lines short.
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," _bytes "${_hex}")
  string(REGEX REPLACE "(${_line_of_16})" "\\1\n" _bytes "${_bytes}")
  # A trailing NUL: no zero-length array for an empty file, and the size is given apart.
  string(APPEND _out "constexpr unsigned char kFile${_index}[] = {\n${_bytes}0x00};\n")
  string(APPEND _table "    {\"${_name}\", kFile${_index}, ${_size}},\n")
  math(EXPR _index "${_index} + 1")
endforeach()
string(APPEND _out "constexpr EmbeddedFile kEmbeddedFiles[] = {\n${_table}};\n")
file(WRITE ${OUTPUT}.tmp "${_out}")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUTPUT}.tmp)
