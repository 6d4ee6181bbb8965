-- The push brute-force guard counts refused pushes per source: an IPv4 address, or an IPv6 /64
-- (one subscriber usually holds a whole /64, so counting single IPv6 addresses counts nothing).
-- The old per-address rows are dropped: they only ever hold the last guard window.
DROP TABLE push_failures;
CREATE TABLE push_failures (
  -- the source counted against: "198.51.100.7", "2001:db8:1:2::/64", or "unknown" (unparsable)
  source TEXT NOT NULL,
  -- the address as MistServer reported it (for `streamctl guard list`)
  ip     TEXT NOT NULL,
  at     INTEGER NOT NULL
) STRICT;
CREATE INDEX push_failures_source_at ON push_failures(source, at);
CREATE INDEX push_failures_at ON push_failures(at);

-- Addresses and CIDR ranges the guard never blocks (broadcasters behind a shared NAT, restreamers).
-- `cidr` is canonical (src/lib/ip.ts formatRange).
CREATE TABLE push_guard_allow (
  cidr       TEXT PRIMARY KEY,
  note       TEXT,
  created_at INTEGER NOT NULL
) STRICT;
