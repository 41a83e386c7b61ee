# Install rules: headers, the exported cosync::cosync target, a package config with its version
# file (find_package(cosync)), and a pkg-config file.
include(CMakePackageConfigHelpers)

set(COSYNC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/cosync)

install(TARGETS cosync EXPORT cosync-targets)
install(DIRECTORY include/cosync DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT cosync-targets NAMESPACE cosync:: DESTINATION ${COSYNC_CMAKE_DIR})

configure_package_config_file(cmake/cosync-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/cosync-config.cmake
  INSTALL_DESTINATION ${COSYNC_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/cosync-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/cosync-config.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/cosync-config-version.cmake
  DESTINATION ${COSYNC_CMAKE_DIR})

# The .pc file locates the prefix relative to itself, so an install tree can be moved.
file(RELATIVE_PATH COSYNC_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(cmake/cosync.pc.in ${CMAKE_CURRENT_BINARY_DIR}/cosync.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/cosync.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
