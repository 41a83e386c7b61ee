# Every dependency is a Debian package. A missing one stops configure with the package's name,
# so `apt-get install` is the whole fix. Nothing is fetched from the network.
include(GNUInstallDirs)

function(cosync_missing_package what package)
  message(FATAL_ERROR
    "cosync: ${what} was not found.\n"
    "Install it with:  sudo apt-get install ${package}\n"
    "(or run tools/install-deps, which installs everything cosync needs).")
endfunction()

# liburing: the io_uring backend links it PRIVATE (src/ only). Found without pkg-config so a
# bare Debian machine needs nothing but the -dev package.
find_path(COSYNC_LIBURING_INCLUDE_DIR liburing.h)
find_library(COSYNC_LIBURING_LIBRARY uring)
if(NOT COSYNC_LIBURING_INCLUDE_DIR OR NOT COSYNC_LIBURING_LIBRARY)
  cosync_missing_package("liburing (liburing.h, liburing.so)" liburing-dev)
endif()
if(NOT TARGET cosync_liburing)
  add_library(cosync_liburing INTERFACE)
  target_include_directories(cosync_liburing SYSTEM INTERFACE ${COSYNC_LIBURING_INCLUDE_DIR})
  target_link_libraries(cosync_liburing INTERFACE ${COSYNC_LIBURING_LIBRARY})
endif()

# fmt: the benchmark harness and, later, the runtime's diagnostics.
find_package(fmt QUIET CONFIG)
if(NOT fmt_FOUND)
  cosync_missing_package("fmt" libfmt-dev)
endif()

# Catch2 (v2.13 on Debian 12; v3 works too): only for the tests.
if(COSYNC_BUILD_TESTS OR COSYNC_BUILD_BUDGET_TESTS)
  find_package(Catch2 QUIET CONFIG)
  if(NOT Catch2_FOUND)
    cosync_missing_package("Catch2" catch2)
  endif()
endif()
