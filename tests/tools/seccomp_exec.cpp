// seccomp_exec SYSCALL -- PROGRAM [ARGS...]
//
// Runs PROGRAM with one system call refused with EPERM by a seccomp filter, the way container
// runtimes' default profiles refuse io_uring_setup (and any syscall newer than the profile, such
// as epoll_pwait2). The test suite runs under it to prove that cosync falls back instead of
// failing: `seccomp_exec io_uring_setup -- runtime_test`.

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string_view>

#ifndef __NR_epoll_pwait2
#define __NR_epoll_pwait2 441  // the same number on every architecture (added in Linux 5.11)
#endif
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif

#if defined(__x86_64__)
constexpr unsigned native_arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr unsigned native_arch = AUDIT_ARCH_AARCH64;
#else
#error "seccomp_exec: add this architecture's AUDIT_ARCH_ constant"
#endif

namespace {

int syscall_number(std::string_view name) {
  if (name == "io_uring_setup") {
    return __NR_io_uring_setup;
  }
  if (name == "epoll_pwait2") {
    return __NR_epoll_pwait2;
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || std::string_view{argv[2]} != "--") {
    std::fprintf(stderr, "usage: %s io_uring_setup|epoll_pwait2 -- PROGRAM [ARGS...]\n", argv[0]);
    return 2;
  }
  const int nr = syscall_number(argv[1]);
  if (nr < 0) {
    std::fprintf(stderr, "seccomp_exec: unknown syscall %s\n", argv[1]);
    return 2;
  }
  sock_filter filter[] = {
      // Another architecture's calling convention: let it through.
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, native_arch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{static_cast<unsigned short>(std::size(filter)), filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
    std::fprintf(stderr, "seccomp_exec: cannot install the filter: %s\n", std::strerror(errno));
    return 1;
  }
  execvp(argv[3], argv + 3);
  std::fprintf(stderr, "seccomp_exec: cannot run %s: %s\n", argv[3], std::strerror(errno));
  return 127;
}
