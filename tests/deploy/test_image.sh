#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make image` in a clean clone of the repository (what is committed), then
# the image runs: --version names the clone's commit; the runtime stage is slim
# (no compiler) and the agent's files are read-only and not the agent's own.
. "$(dirname "$0")/../lib.sh"

export CONTAINERS_CONF=${CONTAINERS_CONF:-$ROOT/deploy/podman/containers.conf}
TAG=localhost/memtide:clone-test-$$
image_cleanup() { podman rmi -f "$TAG" >/dev/null 2>&1; cleanup; }
trap image_cleanup EXIT

git clone -q "$ROOT" "$WORK/clone"
# The base's tarball, if this tree has made it: a clean clone makes its own otherwise.
[ -f "$ROOT/build/image/base.tar" ] && mkdir -p "$WORK/clone/build/image" &&
	ln -s "$ROOT/build/image/base.tar" "$WORK/clone/build/image/base.tar"
start=$SECONDS
make -s -C "$WORK/clone" image IMAGE_TAGS="$TAG" >"$WORK/make.log" 2>&1
rc=$?
echo "# make image in a clean clone: $((SECONDS - start)) s"
check "make image in a clean clone" test "$rc" = 0 || sed 's/^/#   /' "$WORK/make.log" | tail -20
version=$(git -C "$WORK/clone" describe --always --dirty)
out=$(podman run --rm --pull=never --network=none "$TAG" --version 2>&1)
echo "# podman run $TAG --version: $out"
check "podman run of the image with --version prints the clone's version" test "$out" = "memtide $version"
check "the image's default configuration is valid" sh -c "podman run --rm --pull=never --network=none $TAG --check-config /etc/memtide/memtide.yaml >/dev/null"
check "the runtime stage has no compiler" podman run --rm --pull=never --network=none --entrypoint /bin/sh "$TAG" -c '! command -v cc && ! command -v clang'
check "the agent, hook and configuration: read-only, owned by nobody" test "$(podman run --rm --pull=never --network=none --entrypoint stat "$TAG" -c '%u %a %n' /usr/bin/memtide /usr/lib/memtide/libmemtide_hook.so /etc/memtide/memtide.yaml | tr '\n' '|')" = "65534 555 /usr/bin/memtide|65534 444 /usr/lib/memtide/libmemtide_hook.so|65534 444 /etc/memtide/memtide.yaml|"
echo "# image size: $(podman image inspect -f '{{.Size}}' "$TAG") bytes"
exit $FAILED
