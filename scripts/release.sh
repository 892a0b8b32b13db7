#!/usr/bin/env bash
# Checks that the repository can be released as VERSION and prints the
# commands that tag it; it runs none of them. Every published module is
# released at the same version, each tag named with its module's
# directory: v0.1.0 for the core, dedupe/redisstore/v0.1.0, ... (the Go
# modules reference's rule for a module in a subdirectory). bench and
# examples/integrations are not published (see docs/RELEASING.md).
#
# The checks: VERSION is vMAJOR.MINOR.PATCH (or with a -prerelease) below
# v2 and not tagged yet; the work tree is clean; CHANGELOG.md has a dated
# section for it; every module is gofmt'ed, tidy (go mod tidy -diff) and
# vetted; every published nested module requires the other published
# modules at VERSION and has its own LICENSE; then scripts/test.sh (every
# module with -race, and the core with Go 1.27). Every failed check is
# listed, and the tag commands are printed only when none failed.
#
#   scripts/release.sh v0.1.0
#   scripts/release.sh --skip-tests v0.1.0   # a dry run without the tests
set -euo pipefail
cd "$(dirname "$0")/.."

# Modules that are not published: not tagged, and free to require
# unreleased versions.
unpublished=" ./bench ./examples/integrations "
core=github.com/codathook/codathook

usage() {
	echo "usage: scripts/release.sh [--skip-tests] vX.Y.Z" >&2
	exit 2
}
skip_tests=""
version=""
for arg in "$@"; do
	case "$arg" in
	--skip-tests) skip_tests=1 ;;
	-*) usage ;;
	*) [ -z "$version" ] || usage; version=$arg ;;
	esac
done
[ -n "$version" ] || usage
case "$version" in v*) ;; *) version="v$version" ;; esac

failed=0
fail() {
	echo "release.sh: FAIL: $*" >&2
	failed=$((failed + 1))
}
ok() { echo "release.sh: ok: $*" >&2; }

if ! [[ "$version" =~ ^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$ ]]; then
	echo "release.sh: $version is not a semantic version vMAJOR.MINOR.PATCH[-PRERELEASE]" >&2
	exit 2
fi
if [ "${BASH_REMATCH[1]}" -ge 2 ]; then
	echo "release.sh: $version: a major version 2 or above needs a /v${BASH_REMATCH[1]} suffix on every module path first (docs/RELEASING.md)" >&2
	exit 2
fi
bare=${version#v}

# Modules, the core first: a published module's directory is its tag prefix.
modules=$(find . -name go.mod -not -path './.git/*' -exec dirname {} \; | sort)
published=""
for dir in $modules; do
	case "$unpublished" in *" $dir "*) continue ;; esac
	published="$published $dir"
done

if [ -n "$(git status --porcelain)" ]; then
	fail "the work tree has changes or untracked files (git status): commit or remove them"
else
	ok "clean work tree at $(git rev-parse --short HEAD)"
fi

for dir in $published; do
	tag=$version
	[ "$dir" = "." ] || tag="${dir#./}/$version"
	if git rev-parse -q --verify "refs/tags/$tag" >/dev/null; then
		fail "tag $tag exists already"
	fi
done

if grep -Eq "^## \[$(printf '%s' "$bare" | sed 's/\./\\./g')\] - [0-9]{4}-[0-9]{2}-[0-9]{2}\$" CHANGELOG.md; then
	ok "CHANGELOG.md has a section for $bare"
else
	fail "CHANGELOG.md has no section '## [$bare] - YYYY-MM-DD': rename '## [Unreleased]' to it, add an empty '## [Unreleased]' above it, and a '[$bare]:' link at the end"
fi

unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
	fail "gofmt needed: $unformatted"
else
	ok "gofmt"
fi

before=$failed
for dir in $modules; do
	if ! (cd "$dir" && go mod tidy -diff >/dev/null 2>&1); then
		fail "$dir: go mod tidy needed (cd $dir && go mod tidy -diff)"
	fi
	if ! (cd "$dir" && go vet ./... >/dev/null 2>&1); then
		fail "$dir: go vet fails (cd $dir && go vet ./...)"
	fi
done
[ "$failed" -gt "$before" ] || ok "go mod tidy -diff and go vet in every module:" $modules

# required prints the version go.mod $1 requires module $2 at, if any.
required() {
	awk -v path="$2" '
		$1 == "require" && $2 == path && $3 != "(" { print $3 }
		$1 == path && $2 ~ /^v/ { print $2 }
	' "$1"
}

# A published nested module requires the published modules it depends on
# at exactly VERSION, so that users get a set released together; its own
# LICENSE is in its module zip (the root's is not).
before=$failed
for dir in $published; do
	[ "$dir" != "." ] || continue
	[ -f "$dir/LICENSE" ] || fail "$dir has no LICENSE file (cp LICENSE $dir/)"
	for dep in $published; do
		path=$core
		[ "$dep" = "." ] || path="$core/${dep#./}"
		[ "$dep" != "$dir" ] || continue
		req=$(required "$dir/go.mod" "$path")
		if [ -n "$req" ] && [ "$req" != "$version" ]; then
			fail "$dir requires $path $req, not $version (cd $dir && go mod edit -require=$path@$version)"
		fi
	done
done
[ "$failed" -gt "$before" ] || ok "the published modules require each other at $version and have a LICENSE:" $published

if [ -n "$skip_tests" ]; then
	echo "release.sh: tests skipped (--skip-tests): this is a dry run" >&2
elif scripts/test.sh; then
	ok "scripts/test.sh"
else
	fail "scripts/test.sh"
fi

if [ "$failed" -gt 0 ]; then
	echo "release.sh: $version is not ready: $failed check(s) failed" >&2
	exit 1
fi

commit=$(git rev-parse HEAD)
tags=""
echo "# Release $version: tag $commit and push the tags (this script ran none of this)."
for dir in $published; do
	tag=$version
	[ "$dir" = "." ] || tag="${dir#./}/$version"
	tags="$tags $tag"
	echo "git tag -a $tag -m 'codathook ${tag}' $commit"
done
echo "git push origin$tags"
if [ -n "$skip_tests" ]; then
	echo "# (dry run: the tests were skipped; run it again without --skip-tests before tagging)"
fi
