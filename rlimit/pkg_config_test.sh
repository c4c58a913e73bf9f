#!/bin/bash
# Installs librlimitevents.so, its headers and rlimitevents.pc into a scratch
# prefix the way README.md says, then builds a C and a C++ program against
# them with pkg-config and the system compilers, outside Bazel, and runs them.
set -euo pipefail
here="${TEST_SRCDIR:-$PWD}/vigil/rlimit"
[[ -f "$here/rlimitevents.pc" ]] || here="$(dirname "$0")"
prefix="$(mktemp -d)"
trap 'rm -rf "$prefix"' EXIT
mkdir -p "$prefix/lib/pkgconfig" "$prefix/include/rlimit"
cp "$here/librlimitevents.so" "$prefix/lib/librlimitevents.so.1"
ln -s librlimitevents.so.1 "$prefix/lib/librlimitevents.so"
cp "$here/rlimit_events.h" "$here/watcher.h" "$prefix/include/rlimit/"
sed "s|^prefix=.*|prefix=$prefix|" "$here/rlimitevents.pc" > "$prefix/lib/pkgconfig/rlimitevents.pc"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"

cat > "$prefix/c.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <rlimit/rlimit_events.h>
int main(void) {
  if (rle_resource_from_name("nofile") != RLE_RES_NOFILE) return 1;
  if (strcmp(rle_resource_name(RLE_RES_MAZE), "maze") != 0) return 2;
  rle_client *c = rle_open("/nonexistent/rlimit-events.sock", RLE_NONBLOCK);
  if (c != NULL || errno != ENOENT) return 3;
  printf("c ok\n");
  return 0;
}
C
cat > "$prefix/cc.cc" <<'CC'
#include <cstdio>
#include <rlimit/watcher.h>
int main() {
  vigil::rlimit::Error error;
  auto w = vigil::rlimit::Watcher::Open("/nonexistent/rlimit-events.sock", &error);
  if (w || error.code != ENOENT || error.message.find("/nonexistent") == std::string::npos) return 1;
  std::printf("c++ ok\n");
  return 0;
}
CC
cc -std=c99 -Wall -Werror "$prefix/c.c" -o "$prefix/c" $(pkg-config --cflags --libs rlimitevents)
c++ -std=c++17 -Wall -Werror "$prefix/cc.cc" -o "$prefix/cc" $(pkg-config --cflags --libs rlimitevents)
# The soname is what the programs were linked to need at run time.
readelf -d "$prefix/c" | grep -q 'NEEDED.*librlimitevents.so.1'
LD_LIBRARY_PATH="$prefix/lib" "$prefix/c"
LD_LIBRARY_PATH="$prefix/lib" "$prefix/cc"
