# Turns the files of a folder into a C++ include of byte arrays, at build time (cmake -P), so
# the demo page and the JS SDK ship inside the ithaca binary. Called by
# ithaca/web/CMakeLists.txt with
#   -DOUTPUT=<file.inc> -DBASE_DIR=<folder> -DTABLE=<name of the table>
#   [-DPREFIX=<prefix of the names, e.g. sdk/>] [-DPATTERN=<glob, default *>]
#   [-DEXCLUDE=<file names to leave out, comma-separated>]
# Every file directly in the folder that matches, but dotfiles and backups~. The output is
# rewritten only when its content changes, so an unchanged page rebuilds nothing.
cmake_minimum_required(VERSION 3.25)
if(NOT DEFINED PATTERN)
  set(PATTERN "*")
endif()
string(REPLACE "," ";" _excluded "${EXCLUDE}")
file(RELATIVE_PATH _from ${CMAKE_CURRENT_LIST_DIR}/../.. ${BASE_DIR})
set(_out "// Generated from ${_from}/ by ithaca/web/embed_files.cmake. Do not edit.\n")
set(_table "")
set(_index 0)
string(REPEAT "0x..," 16 _line_of_16)
file(GLOB _files LIST_DIRECTORIES false ${BASE_DIR}/${PATTERN})
list(SORT _files)
foreach(_file IN LISTS _files)
  file(RELATIVE_PATH _name ${BASE_DIR} ${_file})
  if(_name MATCHES "^\\." OR _name MATCHES "~$")  # editor and OS leftovers
    continue()
  endif()
  if(_name IN_LIST _excluded)
    continue()
  endif()
  file(READ ${_file} _hex HEX)
  string(LENGTH "${_hex}" _hex_length)
  math(EXPR _size "${_hex_length} / 2")
  # Two hex digits per byte -> "0xNN,"; a line break every 16 bytes keeps the lines short.
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," _bytes "${_hex}")
  string(REGEX REPLACE "(${_line_of_16})" "\\1\n" _bytes "${_bytes}")
  # A trailing NUL: no zero-length array for an empty file, and the size is given apart.
  string(APPEND _out "constexpr unsigned char ${TABLE}${_index}[] = {\n${_bytes}0x00};\n")
  string(APPEND _table "    {\"${PREFIX}${_name}\", ${TABLE}${_index}, ${_size}},\n")
  math(EXPR _index "${_index} + 1")
endforeach()
string(APPEND _out "constexpr EmbeddedFile ${TABLE}[] = {\n${_table}};\n")
file(WRITE ${OUTPUT}.tmp "${_out}")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUTPUT}.tmp)
