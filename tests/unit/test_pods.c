// SPDX-License-Identifier: Apache-2.0
/*
 * Pod identity: cgroup paths of both kubelet cgroup drivers and of the
 * runtimes (fixtures in the layouts real nodes have), the kubelet's log entry
 * names, hostile names, and the names resolved from a directory tree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "procfs.h"
#include "pods.h"

#define UID "8d3f9c1e-5b2a-4f6e-9a7d-3c4b5e6f7a8b"
#define STATIC_UID "3a1e5b2f9c4d7e8a6b0c1d2e3f4a5b6c"
#define C1 "4f1c2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f"
#define C2 "a9e1d7c3b5f2e8d4c6a0b1f3e5d7c9a2b4f6e8d0c2a4b6f8e0d2c4a6b8f0e2d4"
#define C3 "0b6d2f8a4c1e7b3d9f5a2c8e4b0d6f2a8c4e1b7d3f9a5c2e8b4d0f6a2c8e4b1d"
#define DOCKER_V1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* /proc/PID/cgroup of a fixture, as the collector reads it. */
static int from_fixture(const char *name, struct pod_identity *id)
{
	char path[256], text[8192], v2[1024], v1[1024];

	snprintf(path, sizeof(path), "tests/fixtures/%s", name);
	if (procfs__read(path, text, sizeof(text)) <= 0)
		fail_msg("cannot read %s", path);
	memset(id, 0, sizeof(*id));
	procfs__parse_cgroup(text, v2, sizeof(v2), v1, sizeof(v1));
	return pods__parse_cgroups(v2, v1, id);
}

static void cgroup_shapes(void **state)
{
	static const struct {
		const char *fixture, *uid, *id;
	} cases[] = {
		{ "cgroup_k8s_systemd_containerd.txt", UID, C1 },
		{ "cgroup_k8s_systemd_crio_guaranteed.txt", UID, C2 },
		{ "cgroup_k8s_systemd_crio_conmon.txt", UID, "" },
		{ "cgroup_k8s_systemd_docker_v1.txt", UID, C3 },
		{ "cgroup_k8s_cgroupfs_containerd_hybrid.txt", UID, C1 },
		{ "cgroup_k8s_cgroupfs_guaranteed.txt", UID, C2 },
		{ "cgroup_k8s_cgroupfs_crio_besteffort.txt", UID, C3 },
		{ "cgroup_k8s_static_pod.txt", STATIC_UID, C1 },
		{ "cgroup_k8s_kind_node.txt", UID, C2 },
		{ "cgroup_v2_k8s.txt", "", C1 }, /* "pod1234": not a uid */
		{ "cgroup_docker_systemd.txt", "", C3 },
		{ "cgroup_v1_docker.txt", "", DOCKER_V1 },
		{ "cgroup_podman.txt", "", C2 },
		{ "cgroup_k8s_bad_uid.txt", "", C1 },
		/* A user's delegated subtree named like the kubelet's: no pod. */
		{ "cgroup_user_kubepods.txt", "", C2 },
		{ "cgroup_user_kubepods_cgroupfs.txt", "", C2 },
	};
	struct pod_identity id;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("%s\n", cases[i].fixture);
		assert_int_equal(from_fixture(cases[i].fixture, &id), 0);
		assert_string_equal(id.pod_uid, cases[i].uid);
		assert_string_equal(id.container_id, cases[i].id);
		assert_string_equal(id.namespace, "");
	}
}

static void cgroup_outside_containers(void **state)
{
	static const char *const none[] = { "cgroup_not_kubepods.txt", "cgroup_upper_hex.txt",
					    "cgroup_hybrid.txt" };
	struct pod_identity id;

	(void)state;
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		print_message("%s\n", none[i]);
		assert_int_equal(from_fixture(none[i], &id), -ENOENT);
		assert_string_equal(id.pod_uid, "");
		assert_string_equal(id.container_id, "");
	}
	assert_int_equal(pods__parse_cgroup("/", &id), -ENOENT);
	assert_int_equal(pods__parse_cgroup("", &id), -ENOENT);
	/* One hex digit short, one more, a stray character before the id. */
	assert_int_equal(pods__parse_cgroup("/docker/" DOCKER_V1 "0", &id), -ENOENT);
	assert_int_equal(pods__parse_cgroup("/docker-x" DOCKER_V1 ".scope", &id), -ENOENT);
	assert_int_equal(pods__parse_cgroup("/kubepods/podfoo/bar", &id), -ENOENT);
	/* A systemd pod slice must be a kubepods one. */
	assert_int_equal(pods__parse_cgroup("/user.slice/user-pod" STATIC_UID ".slice", &id),
			 -ENOENT);
	/* A pod slice alone (a process in the pod, outside its containers). */
	assert_int_equal(
		pods__parse_cgroup("/kubepods.slice/kubepods-pod" STATIC_UID ".slice", &id), 0);
	assert_string_equal(id.pod_uid, STATIC_UID);
	assert_string_equal(id.container_id, "");
}

static void pod_dirs(void **state)
{
	static const char *const hostile[] = {
		"default_web_" UID "_x", /* four parts */
		"default_web", /* no uid */
		"Default_web_" UID, /* upper case */
		"default_web-_" UID, /* label ends with '-' */
		"default_.web_" UID, /* empty label */
		"-default_web_" UID,
		"default__" UID,
		"default_web_" UID "0",
		"default_web_8d3f9c1e_5b2a_4f6e_9a7d_3c4b5e6f7a8b",
		"default_we\xc3\xa9"
		"b_" UID,
		"default_we\"b_" UID,
		"default_we\nb_" UID,
		"0123456789012345678901234567890123456789012345678901234567890123_web_" UID,
	};
	struct pod_identity id = { 0 };
	char name[400];

	(void)state;
	assert_int_equal(pods__parse_pod_dir("kube-system_coredns-5d78c9869d-x7k2p_" UID, &id), 0);
	assert_string_equal(id.namespace, "kube-system");
	assert_string_equal(id.pod, "coredns-5d78c9869d-x7k2p");
	assert_string_equal(id.pod_uid, UID);
	/* Pod names are DNS subdomains: dots allowed; static pods' uids are hashes. */
	assert_int_equal(pods__parse_pod_dir("kube-system_etcd-node1.example.com_" STATIC_UID, &id),
			 0);
	assert_string_equal(id.pod, "etcd-node1.example.com");
	assert_string_equal(id.pod_uid, STATIC_UID);
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		print_message("%s\n", hostile[i]);
		assert_int_equal(pods__parse_pod_dir(hostile[i], &id), -EINVAL);
	}
	/* 253 bytes of pod name are fine, 254 are not. */
	memset(name, 0, sizeof(name));
	strcpy(name, "ns_");
	memset(name + 3, 'p', 253);
	strcat(name, "_" UID);
	assert_int_equal(pods__parse_pod_dir(name, &id), 0);
	assert_int_equal((int)strlen(id.pod), 253);
	memset(name + 3, 'p', 254);
	strcpy(name + 3 + 254, "_" UID);
	assert_int_equal(pods__parse_pod_dir(name, &id), -EINVAL);
}

static void container_logs(void **state)
{
	static const char *const hostile[] = {
		"web_default_nginx-" C1, /* no .log */
		"web_default_nginx_" C1 ".log", /* '_' before the id */
		"web_default_nginx-" C1 "0.log",
		"web_default_-" C1 ".log",
		"web_default-" C1 ".log",
		"web_default_x_nginx-" C1 ".log",
		"web_default_Nginx-" C1 ".log",
		"web_default_nginx--" C1 ".log", /* container name ends with '-' */
		"web_default_ngi\xffnx-" C1 ".log",
		"-" C1 ".log",
		".log",
	};
	struct pod_identity id = { 0 };

	(void)state;
	assert_int_equal(pods__parse_container_log(
				 "coredns-5d78c9869d-x7k2p_kube-system_coredns-" C2 ".log", &id),
			 0);
	assert_string_equal(id.pod, "coredns-5d78c9869d-x7k2p");
	assert_string_equal(id.namespace, "kube-system");
	assert_string_equal(id.container, "coredns");
	assert_string_equal(id.container_id, C2);
	/* A container name with dashes: the id is after the last one. */
	assert_int_equal(pods__parse_container_log("web-0_shop_log-shipper-" C1 ".log", &id), 0);
	assert_string_equal(id.container, "log-shipper");
	assert_string_equal(id.pod, "web-0");
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		print_message("%s\n", hostile[i]);
		assert_int_equal(pods__parse_container_log(hostile[i], &id), -EINVAL);
	}
}

/* A kubelet-shaped tree in a temporary directory. */
static char tree[64];

static void touch(const char *dir, const char *name, bool is_dir)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s/%s", tree, dir, name);
	if (is_dir) {
		assert_int_equal(mkdir(path, 0755), 0);
		return;
	}
	/* The kubelet's links point at the pods' logs: never followed. */
	assert_int_equal(symlink("/nonexistent/0.log", path), 0);
}

static void names_from_tree(void **state)
{
	char pods[128], containers[128];
	struct pod_names *pn = pod_names__new();
	struct pod_identity id;

	(void)state;
	assert_non_null(pn);
	strcpy(tree, "/tmp/test_pods.XXXXXX");
	assert_non_null(mkdtemp(tree));
	snprintf(pods, sizeof(pods), "%s/pods", tree);
	snprintf(containers, sizeof(containers), "%s/containers", tree);
	assert_int_equal(mkdir(pods, 0755), 0);
	assert_int_equal(mkdir(containers, 0755), 0);
	touch("pods", "shop_web-0_" UID, true);
	touch("pods", "bad_name_" UID "_", true);
	touch("containers", "web-0_shop_app-" C1 ".log", false);
	/* The same id under another pod's name: not this pod's container. */
	touch("containers", "other_shop_sidecar-" C2 ".log", false);

	pod_names__refresh(pn, pods, containers);
	id = (struct pod_identity){ .pod_uid = UID, .container_id = C1 };
	pod_names__resolve(pn, &id);
	assert_string_equal(id.namespace, "shop");
	assert_string_equal(id.pod, "web-0");
	assert_string_equal(id.container, "app");
	id = (struct pod_identity){ .pod_uid = UID, .container_id = C2 };
	pod_names__resolve(pn, &id);
	assert_string_equal(id.pod, "web-0");
	assert_string_equal(id.container, "");
	/* Outside pods: no names, even for a container the kubelet logs. */
	id = (struct pod_identity){ .container_id = C1 };
	pod_names__resolve(pn, &id);
	assert_string_equal(id.namespace, "");
	assert_string_equal(id.container, "");

	/* A new entry is seen at the next refresh (the directory changed). */
	touch("containers", "web-0_shop_init-" C3 ".log", false);
	pod_names__refresh(pn, pods, containers);
	id = (struct pod_identity){ .pod_uid = UID, .container_id = C3 };
	pod_names__resolve(pn, &id);
	assert_string_equal(id.container, "init");
	/* Gone directories: no names. */
	pod_names__refresh(pn, NULL, "/nonexistent");
	id = (struct pod_identity){ .pod_uid = UID, .container_id = C1 };
	pod_names__resolve(pn, &id);
	assert_string_equal(id.pod, "");
	assert_string_equal(id.container, "");
	pod_names__free(pn);
	snprintf(pods, sizeof(pods), "rm -rf '%s'", tree);
	assert_int_equal(system(pods), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cgroup_shapes),   cmocka_unit_test(cgroup_outside_containers),
		cmocka_unit_test(pod_dirs),	   cmocka_unit_test(container_logs),
		cmocka_unit_test(names_from_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
