<?php
// Bench peer (not shipped): PUSH_REWRITE as MistServer's own PHP examples would write it, with
// PDO SQLite, doing what streamctl's push-rewrite does before its answer: in one IMMEDIATE
// transaction count the source's recent failures, look the key's SHA-256 up, touch the key and
// write the audit row; then print `<base>+<user>`. Same database, same indexes.
$lines = explode("\n", stream_get_contents(STDIN));
$key = $lines[2] ?? '';
$ip = $lines[1] ?? '';
$now = (int) (microtime(true) * 1000);
$db = new PDO('sqlite:' . getenv('STREAMCTL_DB'), null, null, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
$db->exec('PRAGMA busy_timeout = 2000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL');
$db->exec('BEGIN IMMEDIATE');
$q = $db->prepare('SELECT count(*) FROM push_failures WHERE source = ? AND at >= ?');
$q->execute([$ip, $now - 600000]);
$failures = (int) $q->fetchColumn();
$q = $db->prepare('SELECT k.id, k.label, k.revoked_at, u.id AS user_id, u.name, u.disabled FROM stream_keys k JOIN users u ON u.id = k.user_id WHERE k.digest = ?');
$q->execute([hash('sha256', $key)]);
$row = $q->fetch(PDO::FETCH_ASSOC);
$out = '';
if ($failures < 10 && $row && ($row['revoked_at'] === null || $row['revoked_at'] > $now) && !$row['disabled']) {
    $db->prepare('UPDATE stream_keys SET last_used_at = ?, last_ip = ? WHERE id = ?')->execute([$now, $ip, $row['id']]);
    $db->prepare('INSERT INTO events (at, kind, outcome, reason, user_id, ip, detail) VALUES (?, ?, ?, ?, ?, ?, ?)')
        ->execute([$now, 'push', 'accepted', 'key "' . $row['label'] . '"', $row['user_id'], $ip, 'PUSH_REWRITE']);
    $out = 'streams+' . $row['name'];
}
$db->exec('COMMIT');
echo $out;
