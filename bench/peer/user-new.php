<?php
// Bench peer (not shipped): USER_NEW on a public channel as a PHP-CLI + PDO SQLite handler would do
// it, matching what streamctl's user-new does before its answer: settings, channel by stream name,
// bans in force, channel policy, then in one IMMEDIATE transaction record the admitted session;
// print true.
$lines = explode("\n", stream_get_contents(STDIN));
[$stream, $ip, $token, $connector, $url, $session] = array_pad($lines, 6, '');
$now = (int) (microtime(true) * 1000);
$db = new PDO('sqlite:' . getenv('STREAMCTL_DB'), null, null, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
$db->exec('PRAGMA busy_timeout = 2000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL');
$db->exec('BEGIN IMMEDIATE');
$db->query("SELECT name, value FROM settings WHERE name IN ('stream-base', 'vod-base', 'offline-stream', 'unknown-stream-access')")->fetchAll();
$name = substr($stream, strpos($stream, '+') + 1);
$q = $db->prepare('SELECT id, disabled FROM users WHERE name = ?');
$q->execute([$name]);
$user = $q->fetch(PDO::FETCH_ASSOC);
$allow = false;
if ($user && !$user['disabled']) {
    $q = $db->prepare('SELECT count(*) FROM bans WHERE (user_id = ? OR user_id IS NULL) AND (until IS NULL OR until > ?)');
    $q->execute([$user['id'], $now]);
    $bans = (int) $q->fetchColumn();
    $q = $db->prepare('SELECT access, viewer_cap FROM channels WHERE user_id = ?');
    $q->execute([$user['id']]);
    $ch = $q->fetch(PDO::FETCH_ASSOC) ?: ['access' => 'public', 'viewer_cap' => null];
    if ($bans === 0 && $ch['access'] === 'public') {
        $q = $db->prepare('SELECT id FROM broadcasts WHERE user_id = ? AND ended_at IS NULL');
        $q->execute([$user['id']]);
        $b = $q->fetchColumn();
        $db->prepare('INSERT INTO viewer_sessions (session_id, user_id, broadcast_id, stream, viewer, ip, connector, opened_at, last_seen_at) VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?) ON CONFLICT(session_id) DO UPDATE SET last_seen_at = excluded.last_seen_at')
            ->execute([$session, $user['id'], $b === false ? null : $b, $stream, $ip, $connector, $now, $now]);
        $allow = true;
    }
}
$db->exec('COMMIT');
echo $allow ? 'true' : 'false';
