#!/bin/bash
# Userspace C follows the committed .clang-format; kernel C is checked by
# checkpatch instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
files=$(git ls-files 'lib/*.[ch]' 'tools/*.[ch]' 'tests/*.[ch]' 'examples/*.[ch]' 'bench/*.[ch]' 'util/*.[ch]' ':!bench/kmod/*')
clang-format --dry-run --Werror $files
echo "RESULT: $(echo "$files" | wc -l) userspace C files match .clang-format"
