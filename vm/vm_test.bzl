"""vm_test: run a test binary inside the VM harness (vm/run_in_vm.sh).

The binary boots under Debian's kernel in qemu with pure cgroup v2, every
controller, PSI and loadable modules; see vm/README.md.
"""

def vm_test(name, binary, args = [], timeout = "long", vm_timeout = None, data = [], tags = [], **kwargs):
    """Defines an sh_test that runs `binary` (a cc_test or cc_binary) in the VM.

    Args:
      name: the test's name; end it in `_vm` (e.g. `foo_test_vm` for
        `foo_test`) so tools/test_summary pairs it with its host twin.
      binary: label of the executable to run inside the VM.
      args: arguments passed to the binary.
      timeout: Bazel's test timeout (the whole VM run).
      vm_timeout: seconds after which the harness kills the guest
        (default: $VIGIL_VM_TIMEOUT, else 300).
      data: extra runfiles.
      tags: extra tags; "vm" and "exclusive" (the VM uses both cores) are added.
      **kwargs: passed to sh_test.
    """
    harness_args = ["--timeout=%d" % vm_timeout] if vm_timeout else []
    native.sh_test(
        name = name,
        srcs = [Label("//vm:run_in_vm.sh")],
        args = harness_args + ["--", "$(location %s)" % binary] + args,
        data = [binary] + data,
        tags = tags + ["vm", "exclusive"],
        timeout = timeout,
        **kwargs
    )
