"""Forwards rules_cc's public macros to Bazel 4's native C++ rules.

Debian's bazel-rules-cc is too new for Bazel 4.2.3; this keeps load()s of
@rules_cc//cc:defs.bzl working offline."""

def cc_library(**kwargs):
    native.cc_library(**kwargs)

def cc_binary(**kwargs):
    native.cc_binary(**kwargs)

def cc_test(**kwargs):
    native.cc_test(**kwargs)

def cc_toolchain(**kwargs):
    native.cc_toolchain(**kwargs)

def cc_toolchain_suite(**kwargs):
    native.cc_toolchain_suite(**kwargs)
