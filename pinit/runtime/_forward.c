/* `pinit -- CMD`'s signal forwarding loop, tini's loop in C (issue 7).
 *
 * Why C: a signal after a quiet spell wakes pinit on a cold CPU. Measured with perf on a
 * virtual machine, the interpreter's way back from a blocking read to the killpg syscall
 * (re-taking the GIL, the bytes object, a dozen bytecodes) touches about thirty pages and
 * costs 20-30 us there, against 5-10 us for tini: a quarter of the whole forwarding latency.
 * Here the loop runs with the GIL released, from one read to the next, and Python sees only
 * the signals it must handle itself. runtime/loopsignals.py keeps the same loop in Python,
 * used when this module is not built (it is optional in setup.py) or someone listens to
 * each forwarded signal (--verbose).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

PyDoc_STRVAR(forward_doc,
"forward(fd, pgid, keep, /) -> bytes | None\n\n"
"Read signalfd records from the blocking signalfd `fd` and send each signal to process\n"
"group `pgid`, until a signal whose bit is set in the mask `keep` (bit N: signal N)\n"
"arrives: its 128-byte record is returned. None when the group is gone (killpg failed).\n"
"OSError when the read fails.");

static PyObject *
forward(PyObject *module, PyObject *args)
{
    int fd, pgid;
    unsigned long long keep;
    struct signalfd_siginfo info;
    ssize_t got = 0;
    int read_errno = 0, gone = 0;

    (void)module;
    if (!PyArg_ParseTuple(args, "iiK:forward", &fd, &pgid, &keep)) {
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    for (;;) {
        got = read(fd, &info, sizeof info);
        if (got < 0 && errno == EINTR) {
            continue; /* a stop and continue under a debugger: the signal is still queued */
        }
        if (got != (ssize_t)sizeof info) {
            read_errno = got < 0 ? errno : EIO;
            break;
        }
        if (info.ssi_signo < 64 && ((keep >> info.ssi_signo) & 1)) {
            break;
        }
        if (killpg(pgid, (int)info.ssi_signo) < 0) {
            gone = 1;
            break;
        }
    }
    Py_END_ALLOW_THREADS
    if (read_errno) {
        errno = read_errno;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    if (gone) {
        Py_RETURN_NONE;
    }
    return PyBytes_FromStringAndSize((const char *)&info, sizeof info);
}

static PyMethodDef methods[] = {
    {"forward", forward, METH_VARARGS, forward_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pinit.runtime._forward",
    .m_doc = "pinit -- CMD's signal forwarding loop with the GIL released (see _forward.c).",
    .m_size = 0,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__forward(void)
{
    return PyModuleDef_Init(&module_def);
}
