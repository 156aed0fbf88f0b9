"""Readers that die the hard ways a native decoder can (test-only, registered for fake extensions): module-level,
so that anomalypro's decoding processes can import them by name"""
import ctypes, os, signal

def read_abort(path): os.abort()                                # a C library's assert or abort(): SIGABRT

def read_segfault(path): ctypes.string_at(0)                    # a null-pointer read: SIGSEGV

def read_killed(path): os.kill(os.getpid(), signal.SIGKILL)     # what the out-of-memory killer does

class PanicException(BaseException):
    "Like pyo3_runtime.PanicException: a BaseException, which `except Exception` does not catch"

def read_panic(path): raise PanicException('called `Result::unwrap()` on an `Err` value: RleError')
