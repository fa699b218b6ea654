/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parsers of values that have structure, pure: addresses, interface names
 * and CIDR addresses, cgroup modes, network lock methods, namespace names
 * and masks.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "compat.h"
#include "parse.h"

/* ------------------------------------------------------------------ */
/* Page server address                                                 */
/* ------------------------------------------------------------------ */

#define ADDR_EXPECTED "expected ADDRESS:PORT, HOSTNAME:PORT or [IPv6]:PORT"
#define LABEL_MAX 63
/* An IPv6 literal with an optional %zone. */
#define IP6_LITERAL_MAX (INET6_ADDRSTRLEN + 1 + IF_NAMESIZE)

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* "address "IN": PROBLEM; expected ..." */
_printf_(3, 4) static int addr_err(ckpt_err *err, const char *in, const char *fmt, ...)
{
	char why[CKPT_ERR_MSG_MAX];
	va_list ap;

	if (!err)
		return CKPT_EINVAL;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return err_set(err, CKPT_EINVAL, "address \"%s\": %s; %s", in, why, ADDR_EXPECTED);
}

/* An IPv6 literal, optionally with a %zone (an interface name); NULL if valid, else why not. */
static const char *check_ip6(const char *h, size_t len)
{
	char buf[IP6_LITERAL_MAX + 1];
	struct in6_addr a6;
	char *zone;

	if (len == 0)
		return "the brackets are empty";
	if (len > IP6_LITERAL_MAX)
		return "not a valid IPv6 address";
	memcpy(buf, h, len);
	buf[len] = '\0';
	zone = strchr(buf, '%');
	if (zone) {
		size_t zl;

		*zone++ = '\0';
		zl = strlen(zone);
		if (zl == 0 || zl >= IF_NAMESIZE || strchr(zone, '/') || !strcmp(zone, ".") ||
		    !strcmp(zone, ".."))
			return "not a valid IPv6 zone (expected an interface name after '%')";
	}
	if (inet_pton(AF_INET6, buf, &a6) != 1)
		return "not a valid IPv6 address";
	return NULL;
}

/*
 * An IPv4 literal or an RFC 1123 host name (letters, digits, hyphens; labels
 * of 1-63 characters, neither starting nor ending with a hyphen; at most 253
 * characters, a trailing dot aside). NULL if valid, else why not.
 */
static const char *check_host(const char *h, size_t len)
{
	bool numeric = true;
	size_t i, label = 0;

	if (len == 0)
		return "the address before ':' is empty";
	for (i = 0; i < len; i++)
		if (!is_digit(h[i]) && h[i] != '.')
			numeric = false;
	if (numeric) {
		char buf[INET_ADDRSTRLEN];
		struct in_addr a4;

		if (len >= sizeof(buf))
			return "not a valid IPv4 address";
		memcpy(buf, h, len);
		buf[len] = '\0';
		if (inet_pton(AF_INET, buf, &a4) != 1)
			return "not a valid IPv4 address (expected four decimal numbers 0-255 like 10.0.0.1)";
		return NULL;
	}

	if (h[len - 1] == '.')
		len--; /* the root label of a fully qualified name */
	if (len == 0)
		return "not a valid host name";
	if (len > HOSTNAME_MAX)
		return "the host name is longer than 253 characters";
	for (i = 0; i <= len; i++) {
		char c = i < len ? h[i] : '.';

		if (c == '.') {
			if (label == 0)
				return "the host name has an empty label (\"..\" or a leading '.')";
			if (h[i - 1] == '-')
				return "a host name label ends with '-'";
			label = 0;
			continue;
		}
		if (c == '[' || c == ']')
			return "stray bracket (brackets go around an IPv6 address, as in [::1]:80)";
		if (!is_alnum(c) && c != '-')
			return "the host name has a character other than letters, digits, '-' and '.'";
		if (c == '-' && label == 0)
			return "a host name label starts with '-'";
		if (++label > LABEL_MAX)
			return "a host name label is longer than 63 characters";
	}
	return NULL;
}

/* The PORT of address "in", starting at digits: 1 to 65535, nothing after it. */
static int parse_port(const char *in, const char *digits, unsigned long *ret, ckpt_err *err)
{
	unsigned long port = 0;
	const char *p;

	if (*digits == '\0')
		return addr_err(err, in, "the port after ':' is empty");
	if (*digits == '+' || *digits == '-')
		return addr_err(err, in, "the port has a sign");
	if (!is_digit(*digits))
		return addr_err(err, in, "the port \"%s\" is not a number", digits);
	for (p = digits; is_digit(*p); p++)
		if (port <= 65535)
			port = port * 10 + (unsigned long)(*p - '0');
	if (*p)
		return addr_err(err, in, "unexpected \"%s\" after the port", p);
	if (port == 0)
		return addr_err(err, in, "port 0 is not allowed (expected 1-65535)");
	if (port > 65535)
		return addr_err(err, in, "the port %s is above 65535", digits);

	*ret = port;
	return 0;
}

int ckpt_parse_address_port(const char *address_port, char *ret_address, size_t addr_size,
			    uint16_t *ret_port, ckpt_err *err)
{
	const char *in = address_port, *host, *p, *colon, *digits;
	const char *why;
	unsigned long port = 0;
	size_t hlen;
	int r;

	assert_return(in, err, "address is NULL; %s", ADDR_EXPECTED);
	assert_return(!ret_address || addr_size > 0, err,
		      "address \"%s\": the buffer for the address has size 0", in);

	for (p = in; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
			return addr_err(err, in, "it contains whitespace");
		if (c < 0x20 || c >= 0x7f)
			return addr_err(err, in, "it contains a control or non-ASCII character");
	}
	if (!*in)
		return addr_err(err, in, "it is empty");

	if (in[0] == '[') {
		const char *close = strchr(in, ']');

		if (!close)
			return addr_err(err, in, "the '[' is not closed by ']'");
		host = in + 1;
		hlen = (size_t)(close - host);
		why = check_ip6(host, hlen);
		if (why)
			return addr_err(err, in, "%s", why);
		if (close[1] == '\0')
			return addr_err(err, in, "the port is missing after ']'");
		if (close[1] != ':')
			return addr_err(err, in, "unexpected \"%s\" after ']' (expected ':PORT')",
					close + 1);
		digits = close + 2;
	} else {
		colon = strchr(in, ':');
		if (!colon)
			return addr_err(err, in, "the port is missing (no ':')");
		if (strchr(colon + 1, ':'))
			return addr_err(err, in,
					"an IPv6 address must be in brackets, as in [::1]:80");
		host = in;
		hlen = (size_t)(colon - in);
		why = check_host(host, hlen);
		if (why)
			return addr_err(err, in, "%s", why);
		digits = colon + 1;
	}

	r = parse_port(in, digits, &port, err);
	if (r < 0)
		return r;

	if (ret_address) {
		if (hlen >= addr_size)
			return addr_err(err, in,
					"the address has %zu characters, the buffer holds only %zu",
					hlen, addr_size - 1);
		memcpy(ret_address, host, hlen);
		ret_address[hlen] = '\0';
	}
	if (ret_port)
		*ret_port = (uint16_t)port;
	return 0;
}

const char *address_problem(const char *address, const char **ret_host, size_t *ret_len)
{
	const char *host = address, *p;
	size_t len = strlen(address);

	for (p = address; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c >= 0x7f)
			return "it contains whitespace, a control or a non-ASCII character";
	}
	*ret_host = host;
	*ret_len = len;
	if (len >= 2 && address[0] == '[' && address[len - 1] == ']') {
		*ret_host = host + 1;
		*ret_len = len - 2;
		return check_ip6(host + 1, len - 2);
	}
	if (memchr(address, ':', len))
		return check_ip6(host, len);
	return check_host(host, len);
}

/* ------------------------------------------------------------------ */
/* Cgroup mode and network lock method                                 */
/* ------------------------------------------------------------------ */

static const char *const cgroup_mode_names[] = {
	[CKPT_CGROUP_IGNORE] = "ignore",   [CKPT_CGROUP_NONE] = "none",
	[CKPT_CGROUP_PROPS] = "props",	   [CKPT_CGROUP_SOFT] = "soft",
	[CKPT_CGROUP_FULL] = "full",	   [CKPT_CGROUP_STRICT] = "strict",
	[CKPT_CGROUP_DEFAULT] = "default",
};

static const char *const network_lock_names[] = {
	[CKPT_NETWORK_LOCK_IPTABLES] = "iptables",
	[CKPT_NETWORK_LOCK_NFTABLES] = "nftables",
	[CKPT_NETWORK_LOCK_SKIP] = "skip",
};
#define NETWORK_LOCKS_EXPECTED "expected one of iptables, nftables, skip"

/*
 * name's index in names (n entries, NULL holes allowed) into *ret; CKPT_EINVAL naming what and
 * what was expected for an unknown name, a NULL name or no output (out_ok false).
 */
static int name_lookup(const char *const *names, size_t n, const char *what, const char *expected,
		       const char *name, bool out_ok, int *ret, ckpt_err *err)
{
	assert_return(name, err, "%s is NULL; %s", what, expected);
	assert_return(out_ok, err, "%s \"%s\": the output pointer is NULL", what, name);
	for (size_t i = 0; i < n; i++)
		if (names[i] && !strcmp(name, names[i])) {
			*ret = (int)i;
			return 0;
		}
	return err_set(err, CKPT_EINVAL, "unknown %s \"%s\"; %s", what, name, expected);
}

const char *ckpt_cgroup_mode_name(ckpt_cgroup_mode mode)
{
	if ((unsigned)mode >= ARRAY_SIZE(cgroup_mode_names))
		return NULL;
	return cgroup_mode_names[mode];
}

int ckpt_cgroup_mode_from_string(const char *name, ckpt_cgroup_mode *out, ckpt_err *err)
{
	int i, r = name_lookup(cgroup_mode_names, ARRAY_SIZE(cgroup_mode_names), "cgroup mode",
			       CGROUP_MODES_EXPECTED, name, out != NULL, &i, err);

	if (r == 0)
		*out = (ckpt_cgroup_mode)i;
	return r;
}

const char *ckpt_network_lock_name(ckpt_network_lock method)
{
	if ((unsigned)method >= ARRAY_SIZE(network_lock_names))
		return NULL;
	return network_lock_names[method];
}

int ckpt_network_lock_from_string(const char *name, ckpt_network_lock *out, ckpt_err *err)
{
	int i, r = name_lookup(network_lock_names, ARRAY_SIZE(network_lock_names),
			       "network lock method", NETWORK_LOCKS_EXPECTED, name, out != NULL, &i,
			       err);

	if (r == 0)
		*out = (ckpt_network_lock)i;
	return r;
}

/* ------------------------------------------------------------------ */
/* Namespace masks                                                     */
/* ------------------------------------------------------------------ */

/* The canonical order of ckpt_ns_mask_to_string. */
static const struct ns_kind ns_kinds[] = {
	{ "network", "net", "net", CLONE_NEWNET },     { "pid", NULL, "pid", CLONE_NEWPID },
	{ "mount", "mnt", "mnt", CLONE_NEWNS },	       { "ipc", NULL, "ipc", CLONE_NEWIPC },
	{ "uts", NULL, "uts", CLONE_NEWUTS },	       { "user", NULL, "user", CLONE_NEWUSER },
	{ "cgroup", NULL, "cgroup", CLONE_NEWCGROUP }, { "time", NULL, "time", CLONE_NEWTIME },
};

const struct ns_kind *ns_kinds_all(size_t *ret_n)
{
	*ret_n = ARRAY_SIZE(ns_kinds);
	return ns_kinds;
}

_Static_assert(NS_KNOWN_MASK == (CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC |
				 CLONE_NEWUTS | CLONE_NEWUSER | CLONE_NEWCGROUP | CLONE_NEWTIME),
	       "NS_KNOWN_MASK");

#define NS_EXPECTED                                                                                \
	"expected namespace names from network, pid, mount, ipc, uts, user, cgroup, time (or the " \
	"aliases net, mnt)"

static const struct ns_kind *ns_kind_lookup(const char *name, size_t len, bool aliases)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ns_kinds); i++) {
		const struct ns_kind *k = &ns_kinds[i];

		if (strlen(k->name) == len && !memcmp(k->name, name, len))
			return k;
		if (aliases && k->alias && strlen(k->alias) == len && !memcmp(k->alias, name, len))
			return k;
	}
	return NULL;
}

uint32_t ns_flag_from_name(const char *name, size_t len, bool aliases)
{
	const struct ns_kind *k = ns_kind_lookup(name, len, aliases);

	return k ? k->flag : 0;
}

const char *ns_flag_name(uint32_t flag)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ns_kinds); i++)
		if (ns_kinds[i].flag == flag)
			return ns_kinds[i].name;
	return NULL;
}

/* Where each namespace was first named, for the duplicate message. */
struct ns_seen {
	const char *name[ARRAY_SIZE(ns_kinds)];
	size_t len[ARRAY_SIZE(ns_kinds)];
};

/* Add the namespace called name (len bytes) to *mask; ctx prefixes messages. */
static int ns_add(const char *ctx, const char *name, size_t len, uint32_t *mask,
		  struct ns_seen *seen, ckpt_err *err)
{
	const struct ns_kind *k = ns_kind_lookup(name, len, true);
	size_t idx;

	if (!k)
		return err_set(err, CKPT_EINVAL, "%sunknown namespace \"%.*s\"; " NS_EXPECTED, ctx,
			       (int)len, name);
	idx = (size_t)(k - ns_kinds);
	if (*mask & k->flag) {
		if (seen->len[idx] == len && !memcmp(seen->name[idx], name, len))
			return err_set(
				err, CKPT_EINVAL,
				"%snamespace \"%.*s\" is given twice; expected each namespace once",
				ctx, (int)len, name);
		return err_set(
			err, CKPT_EINVAL,
			"%snamespace \"%.*s\" is given twice (also as \"%.*s\"); expected each namespace once",
			ctx, (int)len, name, (int)seen->len[idx], seen->name[idx]);
	}
	*mask |= k->flag;
	seen->name[idx] = name;
	seen->len[idx] = len;
	return 0;
}

int ckpt_ns_mask_from_names(const char *const *names, size_t n, uint32_t *mask, ckpt_err *err)
{
	struct ns_seen seen = { 0 };
	uint32_t m = 0;
	size_t i;
	int r;

	assert_return(names || n == 0, err, "namespace names: the array is NULL but n is %zu", n);
	assert_return(mask, err, "namespace names: the output mask pointer is NULL");
	for (i = 0; i < n; i++) {
		char ctx[48];

		assert_return(names[i], err, "namespace names: names[%zu] is NULL; " NS_EXPECTED,
			      i);
		snprintf(ctx, sizeof(ctx), "namespace names[%zu]: ", i);
		r = ns_add(ctx, names[i], strlen(names[i]), &m, &seen, err);
		if (r < 0)
			return r;
	}
	*mask = m;
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int ckpt_ns_mask_from_string(const char *list, uint32_t *mask, ckpt_err *err)
{
	struct ns_seen seen = { 0 };
	const char *p = list;
	uint32_t m = 0;
	unsigned item;
	int r;

	assert_return(list, err, "namespace list is NULL; " NS_EXPECTED);
	assert_return(mask, err, "namespace list \"%s\": the output mask pointer is NULL", list);

	while (is_blank(*p))
		p++;
	if (*p == '\0') { /* "" is the empty set, as ckpt_ns_mask_to_string(0) writes it */
		*mask = 0;
		return 0;
	}
	for (item = 1, p = list;; item++) {
		const char *end = strchrnul(p, ',');
		const char *s = p, *e = end;
		char ctx[CKPT_ERR_MSG_MAX];

		while (s < e && is_blank(*s))
			s++;
		while (e > s && is_blank(e[-1]))
			e--;
		if (s == e)
			return err_set(err, CKPT_EINVAL,
				       "namespace list \"%s\": item %u is empty; " NS_EXPECTED
				       ", separated by single commas",
				       list, item);
		snprintf(ctx, sizeof(ctx), "namespace list \"%s\": ", list);
		r = ns_add(ctx, s, (size_t)(e - s), &m, &seen, err);
		if (r < 0)
			return r;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	*mask = m;
	return 0;
}

int ckpt_ns_mask_to_string(uint32_t mask, char *buf, size_t size, ckpt_err *err)
{
	char tmp[128];
	size_t i, len = 0;

	assert_return(buf, err, "namespace mask 0x%x: the buffer is NULL", mask);
	assert_return(
		!(mask & ~NS_KNOWN_MASK), err,
		"namespace mask 0x%x has bits 0x%x that are no namespace; expected CLONE_NEW* bits of network, pid, mount, ipc, uts, user, cgroup, time",
		mask, mask & ~NS_KNOWN_MASK);
	tmp[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(ns_kinds); i++) {
		if (!(mask & ns_kinds[i].flag))
			continue;
		len += (size_t)snprintf(tmp + len, sizeof(tmp) - len, "%s%s", len ? "," : "",
					ns_kinds[i].name);
	}
	assert_return(
		len < size, err,
		"namespace mask 0x%x: \"%s\" needs a buffer of %zu bytes; expected a size of at least that, got %zu",
		mask, tmp, len + 1, size);
	memcpy(buf, tmp, len + 1);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Interface names and CIDR addresses                                  */
/* ------------------------------------------------------------------ */

int check_ifname(const char *what, const char *which, const char *s, ckpt_err *err)
{
	if (!s || !*s)
		return err_set(err, CKPT_EINVAL, "%s: empty %s interface name", what, which);
	if (strlen(s) >= IFNAMSIZ)
		return err_set(err, CKPT_EINVAL,
			       "%s: %s interface name '%s' is longer than %d bytes", what, which, s,
			       IFNAMSIZ - 1);
	for (const char *p = s; *p; p++)
		if (*p == '/' || *p == ':' || (unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return err_set(err, CKPT_EINVAL, "%s: %s interface name '%s' holds '%c'",
				       what, which, s, *p);
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return err_set(err, CKPT_EINVAL, "%s: '%s' is not an interface name", what, s);
	return 0;
}

int check_cidr(const char *what, const char *which, const char *s, ckpt_err *err)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char buf[sizeof(struct in6_addr)];
	const char *slash = s ? strchr(s, '/') : NULL;
	char *end;
	long prefix;
	int family;

	if (!s || !*s)
		return err_set(err, CKPT_EINVAL, "%s: empty %s address", what, which);
	if (!slash || slash == s || (size_t)(slash - s) >= sizeof(addr))
		return err_set(err, CKPT_EINVAL, "%s: %s address '%s' is not ADDRESS/PREFIX", what,
			       which, s);
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, addr, buf) != 1)
		return err_set(err, CKPT_EINVAL,
			       "%s: %s address '%s': '%s' is not an IPv%d address", what, which, s,
			       addr, family == AF_INET ? 4 : 6);
	errno = 0;
	prefix = strtol(slash + 1, &end, 10);
	if (!slash[1] || *end || errno || prefix < 0 || prefix > (family == AF_INET ? 32 : 128))
		return err_set(err, CKPT_EINVAL, "%s: %s address '%s': prefix '%s' is not 0..%d",
			       what, which, s, slash + 1, family == AF_INET ? 32 : 128);
	return 0;
}
