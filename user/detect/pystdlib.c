/* The Python standard library's top-level module names: a pickle global
 * from one of them that no profile allows is a gadget an attacker reached
 * for (pydoc.pipepager, _posixsubprocess.fork_exec), not a user's class.
 * CPython 3.11's sys.stdlib_module_names, plus Python 2's names that
 * pickle's fix_imports still maps (commands, popen2, copy_reg ...). */
#include <stdlib.h>
#include <string.h>

#include "pystdlib.h"

/* sorted (strcmp order): found by bsearch */
/* clang-format off */
static const char *const stdlib[] = {
	"__builtin__", "__builtins__", "__future__", "_abc", "_aix_support", "_ast",
	"_asyncio", "_bisect", "_blake2", "_bootsubprocess", "_bz2", "_codecs", "_codecs_cn",
	"_codecs_hk", "_codecs_iso2022", "_codecs_jp", "_codecs_kr", "_codecs_tw",
	"_collections", "_collections_abc", "_compat_pickle", "_compression", "_contextvars",
	"_crypt", "_csv", "_ctypes", "_curses", "_curses_panel", "_datetime", "_dbm",
	"_decimal", "_elementtree", "_frozen_importlib", "_frozen_importlib_external",
	"_functools", "_gdbm", "_hashlib", "_heapq", "_imp", "_io", "_json", "_locale",
	"_lsprof", "_lzma", "_markupbase", "_md5", "_msi", "_multibytecodec",
	"_multiprocessing", "_opcode", "_operator", "_osx_support", "_overlapped", "_pickle",
	"_posixshmem", "_posixsubprocess", "_py_abc", "_pydecimal", "_pyio", "_queue",
	"_random", "_scproxy", "_sha1", "_sha256", "_sha3", "_sha512", "_signal",
	"_sitebuiltins", "_socket", "_sqlite3", "_sre", "_ssl", "_stat", "_statistics",
	"_string", "_strptime", "_struct", "_symtable", "_thread", "_threading_local",
	"_tkinter", "_tokenize", "_tracemalloc", "_typing", "_uuid", "_warnings", "_weakref",
	"_weakrefset", "_winapi", "_zoneinfo", "abc", "aifc", "antigravity", "argparse",
	"array", "ast", "asynchat", "asyncio", "asyncore", "atexit", "audioop", "base64",
	"bdb", "binascii", "bisect", "builtins", "bz2", "cPickle", "cProfile", "calendar",
	"cgi", "cgitb", "chunk", "cmath", "cmd", "code", "codecs", "codeop", "collections",
	"colorsys", "commands", "compileall", "concurrent", "configparser", "contextlib",
	"contextvars", "copy", "copy_reg", "copyreg", "crypt", "csv", "ctypes", "curses",
	"dataclasses", "datetime", "dbm", "decimal", "difflib", "dis", "distutils", "doctest",
	"email", "encodings", "ensurepip", "enum", "errno", "exceptions", "faulthandler",
	"fcntl", "filecmp", "fileinput", "fnmatch", "fractions", "ftplib", "functools", "gc",
	"genericpath", "getopt", "getpass", "gettext", "glob", "graphlib", "grp", "gzip",
	"hashlib", "heapq", "hmac", "html", "http", "idlelib", "imaplib", "imghdr", "imp",
	"importlib", "inspect", "io", "ipaddress", "itertools", "json", "keyword", "lib2to3",
	"linecache", "locale", "logging", "lzma", "mailbox", "mailcap", "marshal", "math",
	"mimetypes", "mmap", "modulefinder", "msilib", "msvcrt", "multiprocessing", "netrc",
	"nis", "nntplib", "nt", "ntpath", "nturl2path", "numbers", "opcode", "operator",
	"optparse", "os", "ossaudiodev", "pathlib", "pdb", "pickle", "pickletools", "pipes",
	"pkgutil", "platform", "plistlib", "popen2", "poplib", "posix", "posixpath", "pprint",
	"profile", "pstats", "pty", "pwd", "py_compile", "pyclbr", "pydoc", "pydoc_data",
	"pyexpat", "queue", "quopri", "random", "re", "readline", "reprlib", "resource",
	"rlcompleter", "runpy", "sched", "secrets", "select", "selectors", "shelve", "shlex",
	"shutil", "signal", "site", "smtpd", "smtplib", "sndhdr", "socket", "socketserver",
	"spwd", "sqlite3", "sre_compile", "sre_constants", "sre_parse", "ssl", "stat",
	"statistics", "string", "stringprep", "struct", "subprocess", "sunau", "symtable",
	"sys", "sysconfig", "syslog", "tabnanny", "tarfile", "telnetlib", "tempfile",
	"termios", "textwrap", "this", "threading", "time", "timeit", "tkinter", "token",
	"tokenize", "tomllib", "trace", "traceback", "tracemalloc", "tty", "turtle",
	"turtledemo", "types", "typing", "unicodedata", "unittest", "urllib", "uu", "uuid",
	"venv", "warnings", "wave", "weakref", "webbrowser", "winreg", "winsound", "wsgiref",
	"xdrlib", "xml", "xmlrpc", "zipapp", "zipfile", "zipimport", "zlib", "zoneinfo",
};
/* clang-format on */

static int cmp(const void *k, const void *e)
{
	return strcmp(k, *(const char *const *)e);
}

bool py_stdlib_module(const char *module)
{
	char top[64];
	size_t n = module ? strcspn(module, ".") : 0;

	if (!n || n >= sizeof(top))
		return false;
	memcpy(top, module, n);
	top[n] = 0;
	return bsearch(top, stdlib, sizeof(stdlib) / sizeof(stdlib[0]), sizeof(stdlib[0]), cmp);
}
