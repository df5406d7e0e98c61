/*
 * test_ref.c - image references: parsing, normalization, printing, digests.
 *
 * The main table re-expresses the cases of Docker distribution's
 * reference tests (reference_test.go, normalize_test.go, regexp_test.go)
 * in imgwatch's terms, plus cases of our own.  Every valid case states
 * the expected domain, path, tag, digest and familiar form, and is
 * checked to print and re-parse to the same reference; every invalid
 * case states the exact reason the error message must give.
 */
#include "ref/ref.h"
#include "util/error.h"
#include "util/mem.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../fuzz/ref_oracle.h"

#define F64 "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define U64 "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
#define DF "sha256:" F64
#define DB "sha256:be178c0543eb17f5f3043021c9e5fcf30285e557a4fc309cce97ff9ca6182912"
#define HR "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"
#define DR "sha256:" HR
#define DE "sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582"
#define D86 "sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"
#define D12 "sha256:1234567890098765432112345667890098765432112345667890098765432112"
#define D512 "sha512:" F64 F64
#define HEXID "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"
#define DA "da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821"

typedef struct ref_case
{
  const char *input;
  /* Valid: the expected parts (tag and digest NULL when absent). */
  const char *domain, *path, *tag, *digest, *familiar;
  /* Invalid: the reason after `invalid reference "INPUT": `. */
  const char *why;
} ref_case;

#define OK(in, dom, path, tag, dig, fam)                                                                     \
  {                                                                                                          \
    in, dom, path, tag, dig, fam, NULL                                                                       \
  }
#define BAD(in, why)                                                                                         \
  {                                                                                                          \
    in, NULL, NULL, NULL, NULL, NULL, why                                                                    \
  }

#define LC "repository name must be lowercase"
#define EMPTY_COMP "empty path component (a leading, trailing or doubled '/')"
#define NEEDS_REPO "a registry host needs a repository after it, as in [::1]:5000/app"
#define START "must start with a lowercase letter or digit"
#define END "must end with a lowercase letter or digit"
#define LABEL(l) "registry host \"" l "\""
#define IMAGE_ID "an image ID (64 hex characters), not a reference"

static const ref_case cases[] = {
  /* The examples of the issue: Docker Hub normalization. */
  OK ("nginx", "docker.io", "library/nginx", NULL, NULL, "nginx"),
  OK ("library/nginx", "docker.io", "library/nginx", NULL, NULL, "nginx"),
  OK ("docker.io/nginx", "docker.io", "library/nginx", NULL, NULL, "nginx"),
  OK ("docker.io/library/nginx", "docker.io", "library/nginx", NULL, NULL, "nginx"),
  OK ("index.docker.io/library/nginx", "docker.io", "library/nginx", NULL, NULL, "nginx"),
  OK ("index.docker.io/nginx", "docker.io", "library/nginx", NULL, NULL, "nginx"),
  OK ("nginx:1.25", "docker.io", "library/nginx", "1.25", NULL, "nginx:1.25"),
  OK ("localhost:5000/a:1", "localhost:5000", "a", "1", NULL, "localhost:5000/a:1"),
  OK ("[::1]:5000/a", "[::1]:5000", "a", NULL, NULL, "[::1]:5000/a"),
  BAD ("Docker/app", LC),

  /* reference_test.go, TestReferenceParse (normalized here). */
  OK ("test_com", "docker.io", "library/test_com", NULL, NULL, "test_com"),
  OK ("test.com:tag", "docker.io", "library/test.com", "tag", NULL, "test.com:tag"),
  OK ("test.com:5000", "docker.io", "library/test.com", "5000", NULL, "test.com:5000"),
  OK ("test.com/repo:tag", "test.com", "repo", "tag", NULL, "test.com/repo:tag"),
  OK ("test:5000/repo", "test:5000", "repo", NULL, NULL, "test:5000/repo"),
  OK ("test:5000/repo:tag", "test:5000", "repo", "tag", NULL, "test:5000/repo:tag"),
  OK ("test:5000/repo@" DF, "test:5000", "repo", NULL, DF, "test:5000/repo@" DF),
  OK ("test:5000/repo:tag@" DF, "test:5000", "repo", "tag", DF, "test:5000/repo:tag@" DF),
  BAD ("", "empty reference"),
  BAD (":justtag", "missing repository name"),
  BAD ("@" DF, "missing repository name"),
  BAD ("repo@sha256:ffffffffffffffffffffffffffffffffff",
       "digest \"sha256:ffffffffffffffffffffffffffffffffff\": sha256 needs 64 hex characters, got 34"),
  BAD ("validname@invaliddigest:" F64,
       "digest \"invaliddigest:" F64
       "\": unsupported algorithm \"invaliddigest\" (expected sha256 or sha512)"),
  OK ("validname@" D512, "docker.io", "library/validname", NULL, D512, "validname@" D512),
  BAD ("Uppercase:tag", LC),
  BAD ("Uppercase/lowercase:tag", LC),
  BAD ("test:5000/Uppercase/lowercase:tag", LC),
  OK ("lowercase:Uppercase", "docker.io", "library/lowercase", "Uppercase", NULL, "lowercase:Uppercase"),
  BAD ("aa/asdf$$^/aa", "path component \"asdf$$^\": invalid character '$'"),
  OK ("sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "bar/baz/quux", NULL, NULL,
      "sub-dom1.foo.com/bar/baz/quux"),
  OK ("sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux", "some-long-tag",
      NULL, "sub-dom1.foo.com/bar/baz/quux:some-long-tag"),
  OK ("b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app",
      "test.example.com", NULL, "b.gcr.io/test.example.com/my-app:test.example.com"),
  OK ("xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com", "myimage", "xn--n3h.com", NULL,
      "xn--n3h.com/myimage:xn--n3h.com"),
  OK ("xn--7o8h.com/myimage:xn--7o8h.com@" DF, "xn--7o8h.com", "myimage", "xn--7o8h.com", DF,
      "xn--7o8h.com/myimage:xn--7o8h.com@" DF),
  OK ("foo_bar.com:8080", "docker.io", "library/foo_bar.com", "8080", NULL, "foo_bar.com:8080"),
  OK ("foo/foo_bar.com:8080", "docker.io", "foo/foo_bar.com", "8080", NULL, "foo/foo_bar.com:8080"),
  OK ("192.168.1.1", "docker.io", "library/192.168.1.1", NULL, NULL, "192.168.1.1"),
  OK ("192.168.1.1:tag", "docker.io", "library/192.168.1.1", "tag", NULL, "192.168.1.1:tag"),
  OK ("192.168.1.1:5000", "docker.io", "library/192.168.1.1", "5000", NULL, "192.168.1.1:5000"),
  OK ("192.168.1.1/repo", "192.168.1.1", "repo", NULL, NULL, "192.168.1.1/repo"),
  OK ("192.168.1.1:5000/repo", "192.168.1.1:5000", "repo", NULL, NULL, "192.168.1.1:5000/repo"),
  OK ("192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050", NULL, "192.168.1.1:5000/repo:5050"),
  BAD ("[2001:db8::1]", NEEDS_REPO),
  BAD ("[2001:db8::1]:5000", NEEDS_REPO),
  BAD ("[2001:db8::1]:tag", NEEDS_REPO),
  OK ("[2001:db8::1]/repo", "[2001:db8::1]", "repo", NULL, NULL, "[2001:db8::1]/repo"),
  OK ("[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]", "repo", "tag", NULL,
      "[2001:db8:1:2:3:4:5:6]/repo:tag"),
  OK ("[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "repo", NULL, NULL, "[2001:db8::1]:5000/repo"),
  OK ("[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000", "repo", "tag", NULL,
      "[2001:db8::1]:5000/repo:tag"),
  OK ("[2001:db8::1]:5000/repo@" DF, "[2001:db8::1]:5000", "repo", NULL, DF, "[2001:db8::1]:5000/repo@" DF),
  OK ("[2001:db8::1]:5000/repo:tag@" DF, "[2001:db8::1]:5000", "repo", "tag", DF,
      "[2001:db8::1]:5000/repo:tag@" DF),
  OK ("[2001:db8::]:5000/repo", "[2001:db8::]:5000", "repo", NULL, NULL, "[2001:db8::]:5000/repo"),
  OK ("[::1]:5000/repo", "[::1]:5000", "repo", NULL, NULL, "[::1]:5000/repo"),
  BAD ("[fe80::1%eth0]:5000/repo", LABEL ("[fe80::1%eth0]:5000") ": invalid character '%' in IPv6 address "
                                                                 "(only hex digits and ':', no zone)"),
  BAD ("[fe80::1%@invalidzone]:5000/repo", NEEDS_REPO),

  /* reference_test.go: TestDomainAndPath, TestSerialization, TestWithTag,
   * TestWithDigest (short digests are not digests here). */
  OK ("test.com/foo", "test.com", "foo", NULL, NULL, "test.com/foo"),
  OK ("test_com/foo", "docker.io", "test_com/foo", NULL, NULL, "test_com/foo"),
  OK ("test:8080/foo", "test:8080", "foo", NULL, NULL, "test:8080/foo"),
  OK ("test.com:8080/foo", "test.com:8080", "foo", NULL, NULL, "test.com:8080/foo"),
  OK ("test-com:8080/foo", "test-com:8080", "foo", NULL, NULL, "test-com:8080/foo"),
  OK ("xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo", NULL, NULL, "xn--n3h.com:18080/foo"),
  OK ("example.com:8000/named", "example.com:8000", "named", NULL, NULL, "example.com:8000/named"),
  OK ("example.com:8000/named:tagged", "example.com:8000", "named", "tagged", NULL,
      "example.com:8000/named:tagged"),
  OK ("other.com/named@" D12, "other.com", "named", NULL, D12, "other.com/named@" D12),
  OK ("test.com:8000/foo:TAG5", "test.com:8000", "foo", "TAG5", NULL, "test.com:8000/foo:TAG5"),
  BAD ("test.com:8000/foo:TAG5@sha256:1234567890098765432112345667890098765",
       "digest \"sha256:1234567890098765432112345667890098765\": sha256 needs 64 hex characters, got 37"),
  OK ("foo:tag2", "docker.io", "library/foo", "tag2", NULL, "foo:tag2"),

  /* normalize_test.go, TestValidateReferenceName. */
  OK ("docker/docker", "docker.io", "docker/docker", NULL, NULL, "docker/docker"),
  OK ("library/debian", "docker.io", "library/debian", NULL, NULL, "debian"),
  OK ("debian", "docker.io", "library/debian", NULL, NULL, "debian"),
  OK ("localhost/library/debian", "localhost", "library/debian", NULL, NULL, "localhost/library/debian"),
  OK ("localhost/debian", "localhost", "debian", NULL, NULL, "localhost/debian"),
  BAD ("LOCALDOMAIN/library/debian", LC),
  BAD ("LOCALDOMAIN/debian", LC),
  OK ("docker.io/docker/docker", "docker.io", "docker/docker", NULL, NULL, "docker/docker"),
  OK ("docker.io/library/debian", "docker.io", "library/debian", NULL, NULL, "debian"),
  OK ("docker.io/debian", "docker.io", "library/debian", NULL, NULL, "debian"),
  OK ("index.docker.io/docker/docker", "docker.io", "docker/docker", NULL, NULL, "docker/docker"),
  OK ("index.docker.io/library/debian", "docker.io", "library/debian", NULL, NULL, "debian"),
  OK ("index.docker.io/debian", "docker.io", "library/debian", NULL, NULL, "debian"),
  OK ("127.0.0.1:5000/docker/docker", "127.0.0.1:5000", "docker/docker", NULL, NULL,
      "127.0.0.1:5000/docker/docker"),
  OK ("127.0.0.1:5000/library/debian", "127.0.0.1:5000", "library/debian", NULL, NULL,
      "127.0.0.1:5000/library/debian"),
  OK ("127.0.0.1:5000/debian", "127.0.0.1:5000", "debian", NULL, NULL, "127.0.0.1:5000/debian"),
  OK ("192.168.0.1", "docker.io", "library/192.168.0.1", NULL, NULL, "192.168.0.1"),
  OK ("192.168.0.1:80", "docker.io", "library/192.168.0.1", "80", NULL, "192.168.0.1:80"),
  OK ("192.168.0.1:8/debian", "192.168.0.1:8", "debian", NULL, NULL, "192.168.0.1:8/debian"),
  OK ("192.168.0.2:25000/debian", "192.168.0.2:25000", "debian", NULL, NULL, "192.168.0.2:25000/debian"),
  OK ("thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "docker.io",
      "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", NULL, NULL,
      "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev"),
  OK ("[fc00::1]:5000/docker", "[fc00::1]:5000", "docker", NULL, NULL, "[fc00::1]:5000/docker"),
  OK ("[fc00::1]:5000/docker/docker", "[fc00::1]:5000", "docker/docker", NULL, NULL,
      "[fc00::1]:5000/docker/docker"),
  OK ("[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000", "library/debian", NULL, NULL,
      "[fc00:1:2:3:4:5:6:7]:5000/library/debian"),
  OK ("docker.io/" HEXID, "docker.io", "library/" HEXID, NULL, NULL, "docker.io/library/" HEXID),
  BAD ("DOCKER/docker", LC),
  BAD ("https://github.com/docker/docker", LABEL ("https:") ": empty port after ':'"),
  BAD ("docker/Docker", LC),
  BAD ("-docker", "path component \"-docker\": " START),
  BAD ("-docker/docker", "path component \"-docker\": " START),
  BAD ("-docker.io/docker/docker",
       LABEL ("-docker.io") ": label \"-docker\" must start and end with a letter or digit"),
  BAD ("docker///docker", EMPTY_COMP),
  BAD ("docker.io/docker/Docker", LC),
  BAD ("docker.io/docker///docker", EMPTY_COMP),
  BAD ("[fc00::1]", NEEDS_REPO),
  BAD ("[fc00::1]:5000", NEEDS_REPO),
  BAD ("fc00::1:5000/debian",
       LABEL ("fc00::1:5000") ": more than one ':' (an IPv6 address must be in brackets, as in [::1]:5000)"),
  BAD ("[fe80::1%eth0]:5000/debian", LABEL ("[fe80::1%eth0]:5000") ": invalid character '%' in IPv6 address "
                                                                   "(only hex digits and ':', no zone)"),
  BAD ("[2001:db8:3:4::192.0.2.33]:5000/debian",
       LABEL (
           "[2001:db8:3:4::192.0.2.33]:5000") ": invalid character '.' in IPv6 address (only hex digits and "
                                              "':', no zone)"),
  BAD (HEXID, IMAGE_ID),

  /* normalize_test.go, TestValidateRemoteName. */
  OK ("docker-rules/docker", "docker.io", "docker-rules/docker", NULL, NULL, "docker-rules/docker"),
  OK ("docker---rules/docker", "docker.io", "docker---rules/docker", NULL, NULL, "docker---rules/docker"),
  OK ("doc/docker", "docker.io", "doc/docker", NULL, NULL, "doc/docker"),
  OK ("d/docker", "docker.io", "d/docker", NULL, NULL, "d/docker"),
  OK ("jess/t", "docker.io", "jess/t", NULL, NULL, "jess/t"),
  OK ("dock__er/docker", "docker.io", "dock__er/docker", NULL, NULL, "dock__er/docker"),
  BAD ("docker-/docker", "path component \"docker-\": " END),
  BAD ("-docker-/docker", "path component \"-docker-\": " START),
  BAD ("____/____", "path component \"____\": " START),
  BAD ("_docker/_docker", "path component \"_docker\": " START),
  BAD ("dock..er/docker", LABEL ("dock..er") ": empty label"),
  BAD ("dock_.er/docker", LABEL ("dock_.er") ": invalid character '_'"),
  BAD ("dock-.er/docker", LABEL ("dock-.er") ": label \"dock-\" must start and end with a letter or digit"),
  BAD ("docker/", EMPTY_COMP),
  BAD (
      "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_"
      "because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_"
      "255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker",
      "repository name must not be more than 255 characters (it has 278)"),

  /* normalize_test.go, TestParseRepositoryInfo: familiar, full and
   * ambiguous spellings of one repository. */
  OK ("localhost/fooo", "localhost", "fooo", NULL, NULL, "localhost/fooo"),
  OK ("localhost/fooo/bar", "localhost", "fooo/bar", NULL, NULL, "localhost/fooo/bar"),
  OK ("fooo/bar", "docker.io", "fooo/bar", NULL, NULL, "fooo/bar"),
  OK ("docker.io/fooo/bar", "docker.io", "fooo/bar", NULL, NULL, "fooo/bar"),
  OK ("index.docker.io/fooo/bar", "docker.io", "fooo/bar", NULL, NULL, "fooo/bar"),
  OK ("ubuntu", "docker.io", "library/ubuntu", NULL, NULL, "ubuntu"),
  OK ("library/ubuntu", "docker.io", "library/ubuntu", NULL, NULL, "ubuntu"),
  OK ("nonlibrary/ubuntu", "docker.io", "nonlibrary/ubuntu", NULL, NULL, "nonlibrary/ubuntu"),
  OK ("docker.io/nonlibrary/ubuntu", "docker.io", "nonlibrary/ubuntu", NULL, NULL, "nonlibrary/ubuntu"),
  OK ("other/library", "docker.io", "other/library", NULL, NULL, "other/library"),
  OK ("127.0.0.1:8000/private/moonbase", "127.0.0.1:8000", "private/moonbase", NULL, NULL,
      "127.0.0.1:8000/private/moonbase"),
  OK ("127.0.0.1:8000/privatebase", "127.0.0.1:8000", "privatebase", NULL, NULL,
      "127.0.0.1:8000/privatebase"),
  OK ("example.com/private/moonbase", "example.com", "private/moonbase", NULL, NULL,
      "example.com/private/moonbase"),
  OK ("example.com/privatebase", "example.com", "privatebase", NULL, NULL, "example.com/privatebase"),
  OK ("example.com:8000/private/moonbase", "example.com:8000", "private/moonbase", NULL, NULL,
      "example.com:8000/private/moonbase"),
  OK ("example.com:8000/privatebasee", "example.com:8000", "privatebasee", NULL, NULL,
      "example.com:8000/privatebasee"),
  OK ("ubuntu-12.04-base", "docker.io", "library/ubuntu-12.04-base", NULL, NULL, "ubuntu-12.04-base"),
  OK ("index.docker.io/library/ubuntu-12.04-base", "docker.io", "library/ubuntu-12.04-base", NULL, NULL,
      "ubuntu-12.04-base"),
  OK ("foo", "docker.io", "library/foo", NULL, NULL, "foo"),
  OK ("docker.io/foo", "docker.io", "library/foo", NULL, NULL, "foo"),
  OK ("library/foo/bar", "docker.io", "library/foo/bar", NULL, NULL, "library/foo/bar"),
  OK ("docker.io/library/foo/bar", "docker.io", "library/foo/bar", NULL, NULL, "library/foo/bar"),
  OK ("store/foo/bar", "docker.io", "store/foo/bar", NULL, NULL, "store/foo/bar"),
  BAD ("Foo/bar", LC),
  BAD ("FOO/bar", LC),

  /* normalize_test.go: tag and digest together, invalid components,
   * ParseAnyReference's names, ParseDockerRef's inputs (both kept). */
  OK ("busybox:latest@" D86, "docker.io", "library/busybox", "latest", D86, "busybox:latest@" D86),
  BAD ("-foo", "path component \"-foo\": " START),
  BAD ("busybox:-foo", "tag \"-foo\": must start with a letter, digit or '_'"),
  OK ("redis", "docker.io", "library/redis", NULL, NULL, "redis"),
  OK ("redis:latest", "docker.io", "library/redis", "latest", NULL, "redis:latest"),
  OK ("docker.io/library/redis:latest", "docker.io", "library/redis", "latest", NULL, "redis:latest"),
  OK ("redis@" DR, "docker.io", "library/redis", NULL, DR, "redis@" DR),
  OK ("docker.io/library/redis@" DR, "docker.io", "library/redis", NULL, DR, "redis@" DR),
  OK ("dmcgowan/myapp", "docker.io", "dmcgowan/myapp", NULL, NULL, "dmcgowan/myapp"),
  OK ("dmcgowan/myapp:latest", "docker.io", "dmcgowan/myapp", "latest", NULL, "dmcgowan/myapp:latest"),
  OK ("docker.io/mcgowan/myapp:latest", "docker.io", "mcgowan/myapp", "latest", NULL, "mcgowan/myapp:latest"),
  OK ("dmcgowan/myapp@" DR, "docker.io", "dmcgowan/myapp", NULL, DR, "dmcgowan/myapp@" DR),
  OK ("docker.io/dmcgowan/myapp@" DR, "docker.io", "dmcgowan/myapp", NULL, DR, "dmcgowan/myapp@" DR),
  BAD (HR, IMAGE_ID),
  BAD (DR, IMAGE_ID),
  OK ("dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9", "docker.io",
      "library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9", NULL, NULL,
      "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9"),
  OK ("dbcc1", "docker.io", "library/dbcc1", NULL, NULL, "dbcc1"),
  OK ("docker/migrator", "docker.io", "docker/migrator", NULL, NULL, "docker/migrator"),
  OK ("xn--n3h.com/foo", "xn--n3h.com", "foo", NULL, NULL, "xn--n3h.com/foo"),
  OK ("busybox@" DE, "docker.io", "library/busybox", NULL, DE, "busybox@" DE),
  OK ("library/busybox:latest", "docker.io", "library/busybox", "latest", NULL, "busybox:latest"),
  OK ("docker.io/busybox:latest", "docker.io", "library/busybox", "latest", NULL, "busybox:latest"),
  OK ("gcr.io/library/busybox", "gcr.io", "library/busybox", NULL, NULL, "gcr.io/library/busybox"),
  OK ("gcr.io/library/busybox:latest@" DE, "gcr.io", "library/busybox", "latest", DE,
      "gcr.io/library/busybox:latest@" DE),

  /* regexp_test.go, TestDomainRegexp (each host given a repository). */
  OK ("test.com:10304/x", "test.com:10304", "x", NULL, NULL, "test.com:10304/x"),
  BAD ("test.com:http/x", LABEL ("test.com:http") ": port \"http\" must be digits"),
  OK ("localhost/x", "localhost", "x", NULL, NULL, "localhost/x"),
  OK ("localhost:8080/x", "localhost:8080", "x", NULL, NULL, "localhost:8080/x"),
  OK ("a.b/x", "a.b", "x", NULL, NULL, "a.b/x"),
  OK ("ab.cd.com/x", "ab.cd.com", "x", NULL, NULL, "ab.cd.com/x"),
  OK ("a-b.com/x", "a-b.com", "x", NULL, NULL, "a-b.com/x"),
  BAD ("-ab.com/x", LABEL ("-ab.com") ": label \"-ab\" must start and end with a letter or digit"),
  BAD ("ab-.com/x", LABEL ("ab-.com") ": label \"ab-\" must start and end with a letter or digit"),
  OK ("ab.c-om/x", "ab.c-om", "x", NULL, NULL, "ab.c-om/x"),
  BAD ("ab.-com/x", LABEL ("ab.-com") ": label \"-com\" must start and end with a letter or digit"),
  BAD ("ab.com-/x", LABEL ("ab.com-") ": label \"com-\" must start and end with a letter or digit"),
  OK ("0101.com/x", "0101.com", "x", NULL, NULL, "0101.com/x"),
  OK ("001a.com/x", "001a.com", "x", NULL, NULL, "001a.com/x"),
  OK ("b.gbc.io:443/x", "b.gbc.io:443", "x", NULL, NULL, "b.gbc.io:443/x"),
  OK ("Asdf.com/x", "Asdf.com", "x", NULL, NULL, "Asdf.com/x"),
  OK ("192.168.1.1:75050/x", "192.168.1.1:75050", "x", NULL, NULL, "192.168.1.1:75050/x"),
  OK ("[fd00:1:2::3]:75050/x", "[fd00:1:2::3]:75050", "x", NULL, NULL, "[fd00:1:2::3]:75050/x"),
  BAD ("[fd00:1:2::3]75050/x", LABEL ("[fd00:1:2::3]75050") ": expected ':' and a port after ']'"),
  BAD ("[fd00:1:2::3]::75050/x", LABEL ("[fd00:1:2::3]::75050") ": port \":75050\" must be digits"),
  BAD ("[fd00:1:2::3%eth0]:75050/x",
       LABEL (
           "[fd00:1:2::3%eth0]:75050") ": invalid character '%' in IPv6 address (only hex digits and ':', no "
                                       "zone)"),
  OK ("[fd00123123123]:75050/x", "[fd00123123123]:75050", "x", NULL, NULL, "[fd00123123123]:75050/x"),
  OK ("[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:75050/x", "[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:75050",
      "x", NULL, NULL, "[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:75050/x"),
  BAD (
      "fd00:1:2::3:75050/x",
      LABEL (
          "fd00:1:2::3:75050") ": more than one ':' (an IPv6 address must be in brackets, as in [::1]:5000)"),

  /* regexp_test.go, TestFullNameRegexp. */
  OK ("short", "docker.io", "library/short", NULL, NULL, "short"),
  OK ("simple/name", "docker.io", "simple/name", NULL, NULL, "simple/name"),
  OK ("docker/stevvooe/app", "docker.io", "docker/stevvooe/app", NULL, NULL, "docker/stevvooe/app"),
  OK ("aa/aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb", "docker.io",
      "aa/aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb", NULL, NULL,
      "aa/aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb"),
  OK ("aa/aa/bb/bb/bb", "docker.io", "aa/aa/bb/bb/bb", NULL, NULL, "aa/aa/bb/bb/bb"),
  OK ("a/a/a/a", "docker.io", "a/a/a/a", NULL, NULL, "a/a/a/a"),
  BAD ("a/a/a/a/", EMPTY_COMP),
  BAD ("a//a/a", EMPTY_COMP),
  OK ("a", "docker.io", "library/a", NULL, NULL, "a"),
  OK ("a/aa", "docker.io", "a/aa", NULL, NULL, "a/aa"),
  OK ("a/aa/a", "docker.io", "a/aa/a", NULL, NULL, "a/aa/a"),
  OK ("foo.com", "docker.io", "library/foo.com", NULL, NULL, "foo.com"),
  BAD ("foo.com/", EMPTY_COMP),
  OK ("foo.com:8080/bar", "foo.com:8080", "bar", NULL, NULL, "foo.com:8080/bar"),
  BAD ("foo.com:http/bar", LABEL ("foo.com:http") ": port \"http\" must be digits"),
  OK ("foo.com/bar", "foo.com", "bar", NULL, NULL, "foo.com/bar"),
  OK ("foo.com/bar/baz", "foo.com", "bar/baz", NULL, NULL, "foo.com/bar/baz"),
  OK ("localhost:8080/bar", "localhost:8080", "bar", NULL, NULL, "localhost:8080/bar"),
  OK ("blog.foo.com/bar/baz", "blog.foo.com", "bar/baz", NULL, NULL, "blog.foo.com/bar/baz"),
  BAD ("a^a", "path component \"a^a\": invalid character '^'"),
  BAD ("asdf$$^/aa", "path component \"asdf$$^\": invalid character '$'"),
  OK ("aa-a/a", "docker.io", "aa-a/a", NULL, NULL, "aa-a/a"),
  BAD ("a-/a/a/a", "path component \"a-\": " END),
  BAD ("foo.com/a-/a/a", "path component \"a-\": " END),
  BAD ("-foo/bar", "path component \"-foo\": " START),
  BAD ("foo/bar-", "path component \"bar-\": " END),
  BAD ("foo-/bar", "path component \"foo-\": " END),
  BAD ("foo/-bar", "path component \"-bar\": " START),
  BAD ("_foo/bar", "path component \"_foo\": " START),
  OK ("foo_bar", "docker.io", "library/foo_bar", NULL, NULL, "foo_bar"),
  OK ("foo_bar.com", "docker.io", "library/foo_bar.com", NULL, NULL, "foo_bar.com"),
  BAD ("foo_bar.com:8080/app", LABEL ("foo_bar.com:8080") ": invalid character '_'"),
  BAD ("foo_bar.com/app", LABEL ("foo_bar.com") ": invalid character '_'"),
  OK ("foo.com/foo_bar", "foo.com", "foo_bar", NULL, NULL, "foo.com/foo_bar"),
  BAD ("docker_/docker_", "path component \"docker_\": " END),
  OK ("example.com/xn--7o8h.com/myimage", "example.com", "xn--7o8h.com/myimage", NULL, NULL,
      "example.com/xn--7o8h.com/myimage"),
  OK ("example.com/some_separator__underscore/myimage", "example.com", "some_separator__underscore/myimage",
      NULL, NULL, "example.com/some_separator__underscore/myimage"),
  BAD ("example.com/__underscore/myimage", "path component \"__underscore\": " START),
  BAD ("example.com/..dots/myimage", "path component \"..dots\": " START),
  BAD ("example.com/.dots/myimage", "path component \".dots\": " START),
  BAD ("example.com/nodouble..dots/myimage", "path component \"nodouble..dots\": invalid separator \"..\" "
                                             "(use one '.', one or two '_', or any number "
                                             "of '-')"),
  BAD ("docker./docker", LABEL ("docker.") ": empty label"),
  BAD (".docker/docker", LABEL (".docker") ": empty label"),
  BAD ("do..cker/docker", LABEL ("do..cker") ": empty label"),
  BAD ("do__cker:8080/docker", LABEL ("do__cker:8080") ": invalid character '_'"),
  OK ("do__cker/docker", "docker.io", "do__cker/docker", NULL, NULL, "do__cker/docker"),
  OK ("registry.io/foo/project--id.module--name.ver---sion--name", "registry.io",
      "foo/project--id.module--name.ver---sion--name", NULL, NULL,
      "registry.io/foo/project--id.module--name.ver---sion--name"),
  OK ("Asdf.com/foo/bar", "Asdf.com", "foo/bar", NULL, NULL, "Asdf.com/foo/bar"),
  BAD ("Foo/FarB", LC),

  /* regexp_test.go, TestReferenceRegexp and TestIdentifierRegexp. */
  OK ("registry.com:8080/myapp:tag", "registry.com:8080", "myapp", "tag", NULL,
      "registry.com:8080/myapp:tag"),
  OK ("registry.com:8080/myapp@" DB, "registry.com:8080", "myapp", NULL, DB, "registry.com:8080/myapp@" DB),
  OK ("registry.com:8080/myapp:tag2@" DB, "registry.com:8080", "myapp", "tag2", DB,
      "registry.com:8080/myapp:tag2@" DB),
  BAD ("registry.com:8080/myapp@sha256:badbadbadbad",
       "digest \"sha256:badbadbadbad\": sha256 needs 64 hex characters, got 12"),
  BAD ("registry.com:8080/myapp:invalid~tag", "tag \"invalid~tag\": invalid character '~'"),
  BAD ("bad_hostname.com:8080/myapp:tag", LABEL ("bad_hostname.com:8080") ": invalid character '_'"),
  OK ("localhost:8080@" DB, "docker.io", "library/localhost", "8080", DB, "localhost:8080@" DB),
  OK ("localhost:8080/name@" DB, "localhost:8080", "name", NULL, DB, "localhost:8080/name@" DB),
  BAD ("localhost:http/name@" DB, LABEL ("localhost:http") ": port \"http\" must be digits"),
  OK ("localhost@" DB, "docker.io", "library/localhost", NULL, DB, "localhost@" DB),
  BAD ("registry.com:8080/myapp@bad",
       "digest \"bad\": missing algorithm (expected sha256:<64 hex> or sha512:<128 hex>)"),
  BAD ("registry.com:8080/myapp@2bad",
       "digest \"2bad\": missing algorithm (expected sha256:<64 hex> or sha512:<128 hex>)"),
  BAD (DA, IMAGE_ID),
  BAD ("7EC43B381E5AEFE6E04EFB0B3F0693FF2A4A50652D64AEC573905F2DB5889A1C", LC),
  OK ("da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf", "docker.io",
      "library/da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf", NULL, NULL,
      "da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf"),
  BAD ("sha256:" DA, IMAGE_ID),
  OK (DA "8482", "docker.io", "library/" DA "8482", NULL, NULL, DA "8482"),

  /* Our own: digests. */
  BAD ("a@sha256:" U64, "digest \"sha256:" U64 "\": hex must be lowercase"),
  BAD ("a@sha512:" F64, "digest \"sha512:" F64 "\": sha512 needs 128 hex characters, got 64"),
  BAD ("a@sha256:" F64 "ff", "digest \"sha256:" F64 "ff\": sha256 needs 64 hex characters, got 66"),
  BAD ("a@sha256:", "digest \"sha256:\": sha256 needs 64 hex characters, got 0"),
  BAD ("a@sha256:../../etc/passwd",
       "digest \"sha256:../../etc/passwd\": invalid character '.' in the hex part"),
  BAD ("a@sha256:" F64 "/x", "digest \"sha256:" F64 "/x\": invalid character '/' in the hex part"),
  BAD ("a@md5:d41d8cd98f00b204e9800998ecf8427e", "digest \"md5:d41d8cd98f00b204e9800998ecf8427e\": "
                                                 "unsupported algorithm \"md5\" (expected sha256 or sha512)"),
  BAD ("a@SHA256:" F64,
       "digest \"SHA256:" F64 "\": unsupported algorithm \"SHA256\" (expected sha256 or sha512)"),
  BAD ("a@sha384:" F64,
       "digest \"sha384:" F64 "\": unsupported algorithm \"sha384\" (expected sha256 or sha512)"),
  BAD ("a@:" F64, "digest \":" F64 "\": unsupported algorithm \"\" (expected sha256 or sha512)"),
  BAD ("a@", "empty digest after '@'"),
  BAD ("a:1@", "empty digest after '@'"),
  BAD ("a@" DF "@" DF, "digest \"" DF "@" DF "\": invalid character '@' in the hex part"),
  BAD ("a@sha256:" F64 "\n", "digest \"sha256:" F64 "\\x0a\": invalid character byte 0x0a in the hex part"),
  OK ("quay.io/x/y@" D512, "quay.io", "x/y", NULL, D512, "quay.io/x/y@" D512),
  OK ("quay.io/x/y:v1@" D512, "quay.io", "x/y", "v1", D512, "quay.io/x/y:v1@" D512),

  /* Our own: tags. */
  BAD ("a:", "empty tag after ':'"),
  BAD ("a:.x", "tag \".x\": must start with a letter, digit or '_'"),
  OK ("a:_x", "docker.io", "library/a", "_x", NULL, "a:_x"),
  OK ("a:X.y-Z_9", "docker.io", "library/a", "X.y-Z_9", NULL, "a:X.y-Z_9"),
  BAD ("a:b:c", "path component \"a:b\": invalid character ':'"),
  BAD ("a:v1+build", "tag \"v1+build\": invalid character '+'"),
  BAD ("a:v 1", "tag \"v 1\": invalid character space"),
  BAD ("ghcr.io/o/app:", "empty tag after ':'"),
  OK ("ghcr.io/owner/app:v1.2.3", "ghcr.io", "owner/app", "v1.2.3", NULL, "ghcr.io/owner/app:v1.2.3"),

  /* Our own: names and hosts. */
  OK ("localhost", "docker.io", "library/localhost", NULL, NULL, "localhost"),
  OK ("localhost:5000", "docker.io", "library/localhost", "5000", NULL, "localhost:5000"),
  BAD ("localhost/", EMPTY_COMP),
  BAD ("/nginx", EMPTY_COMP),
  BAD ("nginx/", EMPTY_COMP),
  BAD ("a b", "path component \"a b\": invalid character space"),
  BAD ("ex ample.com/a", LABEL ("ex ample.com") ": invalid character space"),
  BAD ("\xc3\xbcnicode/a", "path component \"\\xc3\\xbcnicode\": invalid character byte 0xc3"),
  BAD ("nginx\n", "path component \"nginx\\x0a\": invalid character byte 0x0a"),
  BAD ("a\"b", "path component \"a\\\"b\": invalid character '\"'"),
  OK ("a-----b", "docker.io", "library/a-----b", NULL, NULL, "a-----b"),
  BAD ("a___b",
       "path component \"a___b\": invalid separator \"___\" (use one '.', one or two '_', or any number "
       "of '-')"),
  BAD ("a-_b",
       "path component \"a-_b\": invalid separator \"-_\" (use one '.', one or two '_', or any number of "
       "'-')"),
  BAD ("a._b",
       "path component \"a._b\": invalid separator \"._\" (use one '.', one or two '_', or any number of "
       "'-')"),
  OK ("a/b/c/d/e", "docker.io", "a/b/c/d/e", NULL, NULL, "a/b/c/d/e"),
  OK ("docker.io/library/nginx:1.25@" DF, "docker.io", "library/nginx", "1.25", DF, "nginx:1.25@" DF),
  OK ("docker.io/foo.com/app", "docker.io", "foo.com/app", NULL, NULL, "docker.io/foo.com/app"),
  OK ("docker.io/localhost/app:1", "docker.io", "localhost/app", "1", NULL, "docker.io/localhost/app:1"),
  OK ("docker.io/library/foo.com", "docker.io", "library/foo.com", NULL, NULL, "foo.com"),
  OK ("registry-1.docker.io/library/nginx", "registry-1.docker.io", "library/nginx", NULL, NULL,
      "registry-1.docker.io/library/nginx"),
  OK ("DOCKER.IO/library/nginx", "DOCKER.IO", "library/nginx", NULL, NULL, "DOCKER.IO/library/nginx"),
  OK ("example.com:0/a", "example.com:0", "a", NULL, NULL, "example.com:0/a"),
  BAD ("example.com:/a", LABEL ("example.com:") ": empty port after ':'"),
  BAD ("example.com:5000:6000/a",
       LABEL ("example.com:5000:6000") ": more than one ':' (an IPv6 address must be in brackets, as in "
                                       "[::1]:5000)"),
  BAD ("[::1/a", LABEL ("[::1") ": '[' without ']'"),
  BAD ("[]:5000/a", LABEL ("[]:5000") ": empty IPv6 address"),
  BAD ("[abc]/x", "path component \"[abc]\": invalid character '['"),
  BAD ("my.registry:5000/Team/app", LC),
  OK ("my.registry:5000/team/app:Prod", "my.registry:5000", "team/app", "Prod", NULL,
      "my.registry:5000/team/app:Prod"),
  OK ("127.0.0.1:5000/t/green-burrito:latest", "127.0.0.1:5000", "t/green-burrito", "latest", NULL,
      "127.0.0.1:5000/t/green-burrito:latest"),
};

static void
check_valid (const ref_case *c)
{
  iw_ref *r = NULL, *again = NULL, *fam = NULL;
  iw_error *err = NULL;
  char *s, *f, *want, *name, *wname;

  if (iw_ref_parse (&r, c->input, &err) < 0)
    fail_msg ("\"%s\": unexpected error: %s", c->input, iw_error_msg (err));
  assert_string_equal (r->domain, c->domain);
  assert_string_equal (r->path, c->path);
  if (c->tag)
    assert_string_equal (r->tag, c->tag);
  else
    assert_null (r->tag);
  if (c->digest)
    assert_string_equal (r->digest, c->digest);
  else
    assert_null (r->digest);

  want = iw_xasprintf ("%s/%s%s%s%s%s", c->domain, c->path, c->tag ? ":" : "", c->tag ? c->tag : "",
                       c->digest ? "@" : "", c->digest ? c->digest : "");
  s = iw_ref_string (r);
  assert_string_equal (s, want);
  wname = iw_xasprintf ("%s/%s", c->domain, c->path);
  name = iw_ref_name (r);
  assert_string_equal (name, wname);
  f = iw_ref_familiar (r);
  assert_string_equal (f, c->familiar);

  /* The canonical form is fully qualified and parses back to the same. */
  if (iw_ref_parse_canonical (&again, s, &err) < 0)
    fail_msg ("\"%s\": canonical \"%s\" does not re-parse: %s", c->input, s, iw_error_msg (err));
  assert_true (iw_ref_equal (r, again));
  /* The familiar form names the same image. */
  if (iw_ref_parse (&fam, f, &err) < 0)
    fail_msg ("\"%s\": familiar \"%s\" does not re-parse: %s", c->input, f, iw_error_msg (err));
  assert_true (iw_ref_equal (r, fam));

  assert_null (err);
  free (want);
  free (wname);
  free (name);
  free (s);
  free (f);
  iw_ref_free (r);
  iw_ref_free (again);
  iw_ref_free (fam);
}

static bool
plain (const char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f || *s == '"' || *s == '\\')
      return false;
  return true;
}

static void
check_invalid (const ref_case *c)
{
  iw_ref *r = (iw_ref *)&r; /* must be reset to NULL */
  iw_error *err = NULL;
  const char *msg;
  size_t ml, wl = strlen (c->why);

  if (iw_ref_parse (&r, c->input, &err) == 0)
    {
      char *s = iw_ref_string (r);

      fail_msg ("\"%s\": parsed as \"%s\", expected: %s", c->input, s, c->why);
    }
  assert_null (r);
  assert_int_equal (iw_error_code (err), IW_EPARSE);
  msg = iw_error_msg (err);
  ml = strlen (msg);
  if (plain (c->input) && strlen (c->input) <= 256)
    {
      char *want = iw_xasprintf ("invalid reference \"%s\": %s", c->input, c->why);

      if (strcmp (msg, want) != 0)
        fail_msg ("got:  %s\nwant: %s", msg, want);
      free (want);
    }
  else if (strncmp (msg, "invalid reference \"", 19) != 0 || ml < wl + 2
           || strcmp (msg + ml - wl, c->why) != 0 || memcmp (msg + ml - wl - 2, ": ", 2) != 0)
    fail_msg ("got:  %s\nwant: invalid reference \"...\": %s", msg, c->why);
  iw_error_free (err);
}

static void
test_ref__table (void **state)
{
  size_t n = sizeof cases / sizeof cases[0], valid = 0;

  (void)state;
  for (size_t i = 0; i < n; i++)
    {
      /* The independent model of Docker's grammar agrees on every case. */
      if (ref_oracle_accepts (cases[i].input) != (cases[i].why == NULL))
        fail_msg ("\"%s\": the grammar model says %s", cases[i].input, cases[i].why ? "valid" : "invalid");
      if (cases[i].why)
        check_invalid (&cases[i]);
      else
        {
          check_valid (&cases[i]);
          valid++;
        }
    }
  print_message ("ref table: %zu cases (%zu valid, %zu invalid)\n", n, valid, n - valid);
  assert_true (n >= 150);
}

static char *
repeat (const char *s, size_t times, const char *suffix)
{
  size_t n = strlen (s), m = strlen (suffix);
  char *out = iw_xmalloc (n * times + m + 1);

  for (size_t i = 0; i < times; i++)
    memcpy (out + i * n, s, n);
  memcpy (out + n * times, suffix, m + 1);
  return out;
}

/* Names are limited to 255 bytes of path, as Docker limits them. */
static void
test_ref__name_length_limit (void **state)
{
  iw_ref *r = NULL;
  iw_error *err = NULL;
  char *in, *a255 = repeat ("a", 255, ""), *want;

  (void)state;
  in = iw_xasprintf ("example.com/%s:tag", a255);
  assert_int_equal (iw_ref_parse (&r, in, &err), 0);
  assert_int_equal (strlen (r->path), 255);
  iw_ref_free (r);
  free (in);

  in = iw_xasprintf ("domain/%sa:tag", a255);
  assert_int_equal (iw_ref_parse (&r, in, &err), -1);
  assert_non_null (
      strstr (iw_error_msg (err), "repository name must not be more than 255 characters (it has 263)"));
  iw_error_clear (&err);
  free (in);

  /* 127 "a/" plus "a" is exactly 255 on Docker Hub. */
  in = repeat ("a/", 127, "a:tag-puts-this-over-max");
  assert_int_equal (iw_ref_parse (&r, in, &err), 0);
  assert_string_equal (r->domain, "docker.io");
  assert_int_equal (strlen (r->path), 255);
  assert_string_equal (r->tag, "tag-puts-this-over-max");
  iw_ref_free (r);
  free (in);

  /* "library/" counts: 248 letters fit, 248 do not. */
  in = repeat ("b", 247, "");
  assert_int_equal (iw_ref_parse (&r, in, &err), 0);
  iw_ref_free (r);
  free (in);
  in = repeat ("b", 248, "");
  assert_int_equal (iw_ref_parse (&r, in, &err), -1);
  want = iw_xasprintf (
      "invalid reference \"%s\": repository name must not be more than 255 characters (it has 256)", in);
  assert_string_equal (iw_error_msg (err), want);
  iw_error_clear (&err);
  free (want);
  free (in);
  free (a255);
}

static void
test_ref__tag_length_limit (void **state)
{
  iw_ref *r = NULL;
  iw_error *err = NULL;
  char *in;

  (void)state;
  in = repeat ("t", 128, "");
  {
    char *ref = iw_xasprintf ("app:%s", in);

    assert_int_equal (iw_ref_parse (&r, ref, &err), 0);
    assert_int_equal (strlen (r->tag), 128);
    iw_ref_free (r);
    free (ref);
    ref = iw_xasprintf ("app:%sx", in);
    assert_int_equal (iw_ref_parse (&r, ref, &err), -1);
    assert_non_null (strstr (iw_error_msg (err), ": longer than 128 characters (it has 129)"));
    iw_error_clear (&err);
    free (ref);
  }
  free (in);
}

/* Error messages quote the input safely and cut it when it is long. */
static void
test_ref__error_quotes_long_input (void **state)
{
  iw_ref *r = NULL;
  iw_error *err = NULL;
  char *in = repeat ("A", 5000, "");

  (void)state;
  assert_int_equal (iw_ref_parse (&r, in, &err), -1);
  assert_true (strlen (iw_error_msg (err)) < 400);
  assert_non_null (strstr (iw_error_msg (err), "...\": repository name must be lowercase"));
  iw_error_free (err);
  free (in);
  /* A caller that does not want details may pass NULL. */
  assert_int_equal (iw_ref_parse (&r, "Bad", NULL), -1);
  assert_null (r);
  assert_int_equal (iw_ref_parse (&r, NULL, NULL), -1);
}

static void
test_ref__canonical_parse (void **state)
{
  static const struct
  {
    const char *in;
    const char *why; /* NULL when canonical */
  } t[] = {
    { "test.com/foo", NULL },
    { "test:8080/foo", NULL },
    { "docker.io/library/foo", NULL },
    { "docker.io/library/foo:1@" DF, NULL },
    { "[::1]:5000/a:b", NULL },
    { "test_com/foo", "not fully qualified (the canonical form is \"docker.io/test_com/foo\")" },
    { "test.com", "not fully qualified (the canonical form is \"docker.io/library/test.com\")" },
    { "foo", "not fully qualified (the canonical form is \"docker.io/library/foo\")" },
    { "library/foo", "not fully qualified (the canonical form is \"docker.io/library/foo\")" },
    { "docker.io/foo", "not fully qualified (the canonical form is \"docker.io/library/foo\")" },
    { "index.docker.io/library/foo",
      "not fully qualified (the canonical form is \"docker.io/library/foo\")" },
    { "Foo/bar", "repository name must be lowercase" },
  };

  (void)state;
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    {
      iw_ref *r = NULL;
      iw_error *err = NULL;
      int rc = iw_ref_parse_canonical (&r, t[i].in, &err);

      if (t[i].why == NULL)
        {
          char *s;

          if (rc < 0)
            fail_msg ("\"%s\": %s", t[i].in, iw_error_msg (err));
          s = iw_ref_string (r);
          assert_string_equal (s, t[i].in);
          free (s);
        }
      else
        {
          char *want = iw_xasprintf ("invalid reference \"%s\": %s", t[i].in, t[i].why);

          assert_int_equal (rc, -1);
          assert_null (r);
          assert_string_equal (iw_error_msg (err), want);
          assert_int_equal (iw_error_code (err), IW_EPARSE);
          free (want);
        }
      iw_ref_free (r);
      iw_error_free (err);
    }
}

static void
test_ref__accessors (void **state)
{
  iw_ref *r = NULL, *d;

  (void)state;
  assert_int_equal (iw_ref_parse (&r, "nginx", NULL), 0);
  assert_string_equal (iw_ref_api_host (r), "registry-1.docker.io");
  assert_string_equal (iw_ref_effective_tag (r), "latest");
  assert_true (iw_ref_is_implicit_latest (r));
  d = iw_ref_dup (r);
  assert_true (iw_ref_equal (r, d));
  assert_ptr_not_equal (d->path, r->path);
  iw_ref_free (d);
  iw_ref_free (r);

  assert_int_equal (iw_ref_parse (&r, "localhost:5000/a:1", NULL), 0);
  assert_string_equal (iw_ref_api_host (r), "localhost:5000");
  assert_string_equal (iw_ref_effective_tag (r), "1");
  assert_false (iw_ref_is_implicit_latest (r));
  iw_ref_free (r);

  assert_int_equal (iw_ref_parse (&r, "quay.io/a/b@" DF, NULL), 0);
  assert_string_equal (iw_ref_api_host (r), "quay.io");
  assert_null (iw_ref_effective_tag (r));
  assert_false (iw_ref_is_implicit_latest (r));
  d = iw_ref_dup (r);
  free (d->digest);
  d->digest = iw_xstrdup (DB);
  assert_false (iw_ref_equal (r, d));
  iw_ref_free (d);
  iw_ref_free (r);

  /* name:tag@digest keeps both; the digest is what identifies. */
  assert_int_equal (iw_ref_parse (&r, "app:1@" DF, NULL), 0);
  assert_string_equal (iw_ref_effective_tag (r), "1");
  assert_string_equal (r->digest, DF);
  iw_ref_free (r);

  assert_null (iw_ref_dup (NULL));
  iw_ref_free (NULL);
}

static void
test_ref__image_ids (void **state)
{
  char *id;

  (void)state;
  assert_true (iw_ref_is_image_id (DA));
  assert_true (iw_ref_is_image_id ("sha256:" DA));
  assert_false (iw_ref_is_image_id ("7EC43B381E5AEFE6E04EFB0B3F0693FF2A4A50652D64AEC573905F2DB5889A1C"));
  assert_false (iw_ref_is_image_id ("da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf"));
  assert_false (iw_ref_is_image_id (DA "00"));
  assert_false (iw_ref_is_image_id ("sha512:" DA));
  assert_false (iw_ref_is_image_id (""));
  assert_false (iw_ref_is_image_id (NULL));
  id = iw_ref_image_id (DA);
  assert_string_equal (id, "sha256:" DA);
  free (id);
  id = iw_ref_image_id ("sha256:" DA);
  assert_string_equal (id, "sha256:" DA);
  free (id);
  assert_null (iw_ref_image_id ("nginx"));
}

static void
test_ref__digest_validate (void **state)
{
  static const struct
  {
    const char *in;
    const char *msg; /* NULL when valid */
  } t[] = {
    { DF, NULL },
    { D512, NULL },
    { DB, NULL },
    { "sha256:" U64, "invalid digest \"sha256:" U64 "\": hex must be lowercase" },
    { "sha256:abc", "invalid digest \"sha256:abc\": sha256 needs 64 hex characters, got 3" },
    { "sha512:" F64, "invalid digest \"sha512:" F64 "\": sha512 needs 128 hex characters, got 64" },
    { "md5:abc", "invalid digest \"md5:abc\": unsupported algorithm \"md5\" (expected sha256 or sha512)" },
    { F64, "invalid digest \"" F64 "\": missing algorithm (expected sha256:<64 hex> or sha512:<128 hex>)" },
    { "sha256:" F64 "/../x",
      "invalid digest \"sha256:" F64 "/../x\": invalid character '/' in the hex part" },
    { "", "invalid digest \"\": missing algorithm (expected sha256:<64 hex> or sha512:<128 hex>)" },
  };

  (void)state;
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    {
      iw_error *err = NULL;
      int rc = iw_digest_validate (t[i].in, &err);

      if (t[i].msg == NULL)
        {
          assert_int_equal (rc, 0);
          assert_null (err);
        }
      else
        {
          assert_int_equal (rc, -1);
          assert_string_equal (iw_error_msg (err), t[i].msg);
          assert_int_equal (iw_error_code (err), IW_EPARSE);
          iw_error_free (err);
        }
    }
  assert_int_equal (iw_digest_validate (NULL, NULL), -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_ref__table),
    cmocka_unit_test (test_ref__name_length_limit),
    cmocka_unit_test (test_ref__tag_length_limit),
    cmocka_unit_test (test_ref__error_quotes_long_input),
    cmocka_unit_test (test_ref__canonical_parse),
    cmocka_unit_test (test_ref__accessors),
    cmocka_unit_test (test_ref__image_ids),
    cmocka_unit_test (test_ref__digest_validate),
  };

  return cmocka_run_group_tests_name ("ref", tests, NULL, NULL);
}
