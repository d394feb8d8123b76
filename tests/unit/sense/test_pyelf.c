/* The ELF reader and version rules of the Python attach manager, on the
 * host's own binaries (Debian's python3.11 and libpython3.11) and names. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "check.h"
#include "collect/pylayout.h"
#include "sense/pyelf.h"

static void test_names(void)
{
	unsigned ma = 0, mi = 0;
	char abi[8];

	CHECK(pyelf_name_version("/usr/bin/python3.11", &ma, &mi, abi, sizeof(abi)));
	CHECK(ma == 3 && mi == 11 && !abi[0]);
	CHECK(pyelf_name_version("libpython3.9.so.1.0", &ma, &mi, abi, sizeof(abi)));
	CHECK(ma == 3 && mi == 9);
	CHECK(pyelf_name_version("libpython3.13t.so", &ma, &mi, abi, sizeof(abi)));
	CHECK(mi == 13 && !strcmp(abi, "t"));
	CHECK(pyelf_name_version("python3.10d", &ma, &mi, abi, sizeof(abi)) && !strcmp(abi, "d"));
	/* never guessed */
	CHECK(!pyelf_name_version("/usr/bin/python3", &ma, &mi, abi, sizeof(abi)));
	CHECK(!pyelf_name_version("python", &ma, &mi, abi, sizeof(abi)));
	CHECK(!pyelf_name_version("mypython3.11", &ma, &mi, abi, sizeof(abi)));
	CHECK(!pyelf_name_version("python3.11-config", &ma, &mi, abi, sizeof(abi)));
	CHECK(!pyelf_name_version("python2.7", &ma, &mi, abi, sizeof(abi)));
}

static int read_file(const char *path, const char *name, struct pyelf *e)
{
	char err[160];
	int fd = open(path, O_RDONLY), rc;

	if (fd < 0)
		return -1;
	rc = pyelf_read(fd, name, e, err, sizeof(err));
	close(fd);
	return rc;
}

static void test_debian_python(void)
{
	struct pyelf e;

	if (access("/usr/bin/python3.11", R_OK)) {
		printf("skip: no /usr/bin/python3.11\n");
		return;
	}
	/* the version comes from Py_Version, not the name: a renamed copy
	 * keeps it */
	CHECK(read_file("/usr/bin/python3.11", "renamed-interp", &e) == 0);
	CHECK(e.usdt && e.sysaudit);
	CHECK(e.major == 3 && e.minor == 11);
	CHECK_STR(e.version_from, "Py_Version");
	CHECK(!e.debug && !e.free_threaded && !e.trace_refs);
}

static void test_libpython(void)
{
	struct pyelf e;
	const char *lib = "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0";

	if (access(lib, R_OK)) {
		printf("skip: no %s\n", lib);
		return;
	}
	CHECK(read_file(lib, lib, &e) == 0);
	CHECK(e.sysaudit && e.major == 3 && e.minor == 11);
	CHECK_STR(e.soname, "libpython3.11.so.1.0");
}

static void test_not_python(void)
{
	struct pyelf e;
	char err[64];
	int fd = open("/bin/sh", O_RDONLY);

	CHECK(read_file("/bin/sh", "sh", &e) == 0);
	CHECK(!e.usdt && !e.sysaudit && !e.major);
	/* not an ELF file: an error naming it, no crash */
	CHECK(fd >= 0);
	close(fd);
	fd = open("/etc/hostname", O_RDONLY);
	if (fd >= 0) {
		CHECK(pyelf_read(fd, "hostname", &e, err, sizeof(err)) < 0);
		CHECK(strstr(err, "ELF") != NULL);
		close(fd);
	}
}

static void test_layouts(void)
{
	struct mlw_py_layout l;

	CHECK(pylayout_get(3, 11, &l) == 0);
	CHECK(l.version == 0x030b00 && l.str_ascii == 48 && l.str_compact == 72 &&
	      l.str_utf8 == 56 && !(l.flags & MLW_PY_L_LONG_TAG));
	CHECK(pylayout_get(3, 12, &l) == 0);
	CHECK(l.str_ascii == 40 && l.str_compact == 56 && l.str_utf8 == 48 &&
	      (l.flags & MLW_PY_L_LONG_TAG));
	CHECK(pylayout_get(3, 8, &l) == 0 && l.tp_flags == 168);
	CHECK(pylayout_get(3, 13, &l) == 0);
	CHECK(pylayout_get(3, 7, &l) == -ENOENT && l.version == 0);
	CHECK(pylayout_get(3, 14, &l) == -ENOENT);
	CHECK(pylayout_get(2, 7, &l) == -ENOENT);
	CHECK(strstr(pylayout_versions(), "3.13") != NULL);
}

int main(void)
{
	RUN(test_names);
	RUN(test_debian_python);
	RUN(test_libpython);
	RUN(test_not_python);
	RUN(test_layouts);
	return CHECK_DONE();
}
