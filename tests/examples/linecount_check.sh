#!/bin/sh
# linecount DIR prints what `find DIR -type f -exec cat {} + | wc -l` prints.
#   linecount_check.sh LINECOUNT DIR [linecount args...]
set -eu
linecount=$1
dir=$2
shift 2
expected=$(find "$dir" -type f -exec cat {} + | wc -l)
actual=$("$linecount" "$dir" "$@")
echo "linecount: $actual, find | wc -l: $expected"
[ "$actual" = "$expected" ]
