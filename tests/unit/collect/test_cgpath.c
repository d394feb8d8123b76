/* Container and pod from cgroup paths as each runtime and kubelet driver
 * lays them out, and hostile names that must name nothing. */
#include <stdlib.h>

#include "check.h"
#include "collect/cgpath.h"

#define ID "4c2a3f0e9b8d7c6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa9988"
#define ID2 "1111111111111111111111111111111111111111111111111111111111111111"
#define UID "8a1b2c3d-4e5f-4789-abcd-ef0123456789"
#define UID_ "8a1b2c3d_4e5f_4789_abcd_ef0123456789"
#define UID2_ "99999999_9999_4999_8999_999999999999"
#define QOS(q) "/kubepods.slice/kubepods-" q ".slice/kubepods-" q "-pod" UID_ ".slice"

static const struct {
	const char *path;
	enum cg_runtime rt;
	const char *id, *uid; /* "" none */
} cases[] = {
	/* kubelet, systemd driver, each QoS class */
	{ QOS("burstable") "/cri-containerd-" ID ".scope", CG_RT_CONTAINERD, ID, UID },
	{ QOS("besteffort") "/cri-containerd-" ID ".scope", CG_RT_CONTAINERD, ID, UID },
	{ "/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID ".scope",
	  CG_RT_CONTAINERD, ID, UID }, /* guaranteed: no QoS slice */
	{ QOS("burstable") "/crio-" ID ".scope", CG_RT_CRIO, ID, UID },
	{ QOS("burstable") "/crio-" ID ".scope/container", CG_RT_CRIO, ID, UID },
	{ QOS("burstable") "/crio-conmon-" ID ".scope", CG_RT_NONE, "", UID },
	{ QOS("besteffort") "/docker-" ID ".scope", CG_RT_DOCKER, ID, UID }, /* cri-dockerd */
	{ QOS("besteffort"), CG_RT_NONE, "", UID }, /* the pod's own slice */
	/* kind and other kubelets with a cgroup root of their own */
	{ "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
	  "kubelet-kubepods-besteffort-pod" UID_ ".slice/cri-containerd-" ID ".scope",
	  CG_RT_CONTAINERD, ID, UID },
	/* kubelet, cgroupfs driver */
	{ "/kubepods/burstable/pod" UID "/" ID, CG_RT_UNKNOWN, ID, UID },
	{ "/kubepods/besteffort/pod" UID "/" ID, CG_RT_UNKNOWN, ID, UID },
	{ "/kubepods/pod" UID "/" ID, CG_RT_UNKNOWN, ID, UID },
	{ "/kubepods/besteffort/pod" UID "/crio-" ID, CG_RT_CRIO, ID, UID },
	{ "/kubepods/pod8A1B2C3D-4E5F-4789-ABCD-EF0123456789/" ID, CG_RT_UNKNOWN, ID, UID },
	{ "//kubepods//burstable/pod" UID "//" ID "/", CG_RT_UNKNOWN, ID, UID },
	/* docker, podman, without Kubernetes */
	{ "/system.slice/docker-" ID ".scope", CG_RT_DOCKER, ID, "" },
	{ "/docker/" ID, CG_RT_DOCKER, ID, "" },
	{ "/machine.slice/libpod-" ID ".scope", CG_RT_PODMAN, ID, "" },
	{ "/machine.slice/libpod-" ID ".scope/container", CG_RT_PODMAN, ID, "" },
	{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope",
	  CG_RT_PODMAN, ID, "" },
	{ "/machine.slice/libpod-conmon-" ID ".scope", CG_RT_NONE, "", "" },
	{ "/libpod_parent/libpod-" ID, CG_RT_PODMAN, ID, "" },
	{ "/default/" ID, CG_RT_UNKNOWN, ID, "" }, /* containerd's ctr, cgroupfs */
	/* nested: only the outermost is trusted */
	{ "/system.slice/docker-" ID ".scope/docker/" ID2, CG_RT_DOCKER, ID, "" },
	{ "/system.slice/docker-" ID ".scope/init.scope", CG_RT_DOCKER, ID, "" },
	{ "/system.slice/docker-" ID ".scope/kubepods-pod" UID2_ ".slice/cri-containerd-" ID2
	  ".scope",
	  CG_RT_DOCKER, ID, "" },
	{ QOS("burstable") "/cri-containerd-" ID ".scope/kubepods/pod" UID "/" ID2,
	  CG_RT_CONTAINERD, ID, UID },
	/* no container, no pod */
	{ "", CG_RT_NONE, "", "" },
	{ "/", CG_RT_NONE, "", "" },
	{ "/user.slice/user-1000.slice/session-1.scope", CG_RT_NONE, "", "" },
	{ "/system.slice/containerd.service", CG_RT_NONE, "", "" },
	{ "/system.slice/docker.service", CG_RT_NONE, "", "" },
	{ "/kubepods.slice/kubepods-burstable.slice", CG_RT_NONE, "", "" },
	/* hostile or malformed names */
	{ "/system.slice/docker-" ID "0.scope", CG_RT_NONE, "", "" }, /* 65 digits */
	{ "/system.slice/docker-" ID2 ""
	  ".scope.scope",
	  CG_RT_NONE, "", "" },
	{ "/docker/4c2a3f0e9b8d7c6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa998", CG_RT_NONE, "",
	  "" }, /* 63 */
	{ "/docker/4c2a3f0e9b8d7c6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa998g", CG_RT_NONE,
	  "", "" }, /* not hex */
	{ "/docker/4C2A3F0E9B8D7C6A5F4E3D2C1B0A99887766554433221100FFEEDDCCBBAA9988", CG_RT_NONE,
	  "", "" }, /* upper case: no runtime writes it */
	{ "/" ID ".scope", CG_RT_NONE, "", "" },
	{ "/cri-containerd-.scope", CG_RT_NONE, "", "" },
	{ "/kubepods.slice/kubepods-pod" UID ".slice", CG_RT_NONE, "",
	  "" }, /* dashes: not systemd's */
	{ "/kubepods.slice/kubepods-pod8a1b2c3d_4e5f_4789_abcd_ef012345678.slice", CG_RT_NONE, "",
	  "" },
	{ "/kubepods.slice/kubepods-pod8a1b2c3d_4e5f_4789_abcd_ef012345678z.slice", CG_RT_NONE, "",
	  "" },
	{ "/system.slice/evil-pod" UID_ ".slice", CG_RT_NONE, "", "" }, /* no kubepods */
	{ "/pod" UID "/" ID, CG_RT_UNKNOWN, ID, "" }, /* pod<uid> outside kubepods */
	{ "/kubepods/podXYZ/" ID, CG_RT_UNKNOWN, ID, "" },
};

static void test_table(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cg_ident ci;
		bool any = cgpath_parse(cases[i].path, strlen(cases[i].path), &ci);

		check_cur_name = cases[i].path;
		CHECK(ci.runtime == cases[i].rt);
		CHECK_STR(ci.container_id, cases[i].id);
		CHECK_STR(ci.pod_uid, cases[i].uid);
		CHECK(any == (cases[i].id[0] || cases[i].uid[0]));
	}
	check_cur_name = "test_table";
}

/* len, not the NUL, ends the path: cgmap gives the trusted prefix only */
static void test_len_bounds_the_path(void)
{
	const char *p = QOS("besteffort") "/cri-containerd-" ID ".scope";
	size_t pod_end = strlen(QOS("besteffort"));
	struct cg_ident ci;

	CHECK(cgpath_parse(p, pod_end, &ci));
	CHECK_STR(ci.pod_uid, UID);
	CHECK(ci.container_id[0] == 0 && ci.runtime == CG_RT_NONE);
	CHECK(!cgpath_parse(p, strlen("/kubepods.slice"), &ci));
	CHECK(!cgpath_parse(p, 0, &ci));
}

static void test_long_and_deep_paths(void)
{
	size_t n = 1 << 16;
	char *p = malloc(n + 100);
	struct cg_ident ci;

	memset(p, 'a', n);
	p[0] = '/';
	p[n] = 0;
	CHECK(!cgpath_parse(p, n, &ci));
	for (size_t i = 0; i + 1 < n; i += 2)
		memcpy(p + i, "/a", 2);
	CHECK(!cgpath_parse(p, n, &ci));
	snprintf(p + n - 200, 200, "/docker-" ID ".scope");
	CHECK(cgpath_parse(p, strlen(p), &ci));
	CHECK_STR(ci.container_id, ID);
	free(p);
}

static void test_runtime_names(void)
{
	CHECK_STR(cg_runtime_name(CG_RT_CONTAINERD), "containerd");
	CHECK_STR(cg_runtime_name(CG_RT_CRIO), "cri-o");
	CHECK_STR(cg_runtime_name(CG_RT_DOCKER), "docker");
	CHECK_STR(cg_runtime_name(CG_RT_PODMAN), "podman");
	CHECK(cg_runtime_name(CG_RT_UNKNOWN) == NULL);
	CHECK(cg_runtime_name(CG_RT_NONE) == NULL);
}

int main(void)
{
	RUN(test_table);
	RUN(test_len_bounds_the_path);
	RUN(test_long_and_deep_paths);
	RUN(test_runtime_names);
	return CHECK_DONE();
}
