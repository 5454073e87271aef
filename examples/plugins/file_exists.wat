;; file_exists: a Reglet plugin (ABI generation 1) that reports whether a file exists.
;;
;; Config: {"path": "/absolute/path"}. It finds the preopened directory that holds the path (the
;; host mounts one for each fs grant), asks WASI for the file's status and answers with Evidence
;; shaped like the Go SDK's: {"Status":…,"Error":…,"Data":{"path","exists","size","is_dir"},"Raw":null}.
;; Without a grant for the path the host refuses the lookup and the plugin reports that.
;; The config reader is deliberately small: the path must be a plain JSON string without escapes.
(module
  (import "reglet_host" "log_message" (func $log (param i64)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get" (func $path_filestat_get (param i32 i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 17)
  ;; Scratch: 0..8 prestat, 64..128 filestat, 256..512 number formatting, 65536.. preopen names.
  ;; The heap starts after the data, inside the initial 17 pages: growing the memory on every call
  ;; would cost two mprotects (grow, then the slot's reset), each a TLB shootdown on every core.
  (global $heap (mut i32) (i32.const 0x101000))

  (data (i32.const 0x100000) "{\"name\":\"file_exists\",\"version\":\"0.1.0\",\"description\":\"Reports whether a file exists, and its size, through the WASI sandbox\",\"sdk_version\":\"0.1.0-alpha\",\"min_host_version\":\"0.2.0\",\"capabilities\":[{\"kind\":\"fs\",\"pattern\":\"read:**\"}]}")
  (data (i32.const 0x100400) "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\",\"description\":\"Absolute path of the file to check\"}},\"required\":[\"path\"],\"additionalProperties\":false}")
  (data (i32.const 0x100800) "{\"context\":{},\"level\":\"INFO\",\"message\":\"file_exists: checking a path\",\"attrs\":[]}")
  (data (i32.const 0x100900) "\"path\"")
  (data (i32.const 0x100910) "{\"Status\":true,\"Error\":null,\"Data\":{\"path\":\"")
  (data (i32.const 0x100960) "\",\"exists\":true,\"size\":")
  (data (i32.const 0x100980) ",\"is_dir\":true},\"Raw\":null}")
  (data (i32.const 0x1009b0) ",\"is_dir\":false},\"Raw\":null}")
  (data (i32.const 0x1009e0) "\",\"exists\":false},\"Raw\":null}")
  (data (i32.const 0x100a10) "{\"Status\":false,\"Error\":{\"message\":\"permission denied: this plugin may not read ")
  (data (i32.const 0x100a70) "\",\"type\":\"capability\",\"code\":\"EACCES\"},\"Data\":{\"path\":\"")
  (data (i32.const 0x100ac0) "\"},\"Raw\":null}")
  (data (i32.const 0x100ad0) "{\"Status\":false,\"Error\":{\"message\":\"cannot stat ")
  (data (i32.const 0x100b00) "\",\"type\":\"fs\",\"code\":\"errno_")
  (data (i32.const 0x100b20) "\"},\"Data\":null,\"Raw\":null}")
  (data (i32.const 0x100b40) "{\"Status\":false,\"Error\":{\"message\":\"config needs an absolute path string under the key path\",\"type\":\"config\",\"code\":\"path\"},\"Data\":null,\"Raw\":null}")
  (data (i32.const 0x100c00) ".")

  (func $pack (param $p i32) (param $l i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32)) (i64.extend_i32_u (local.get $l))))

  (func $copy (param $dst i32) (param $src i32) (param $n i32) (result i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $n))
    (i32.add (local.get $dst) (local.get $n)))

  (func $allocate (export "allocate") (param $n i32) (result i32)
    (local $p i32)
    (if (i32.eqz (local.get $n)) (then (return (i32.const 0))))
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (global.get $heap) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (if (i32.eq (memory.grow (i32.add (i32.div_u (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536))) (i32.const 65536)) (i32.const 1))) (i32.const -1))
        (then (return (i32.const 0))))))
    (local.get $p))

  ;; Every observation runs in a fresh instance, so nothing needs freeing.
  (func (export "deallocate") (param i32 i32))

  (func (export "_initialize"))

  (func (export "describe") (result i64) (call $pack (i32.const 0x100000) (i32.const 232)))
  (func (export "schema") (result i64) (call $pack (i32.const 0x100400) (i32.const 214)))

  ;; Index of needle in haystack, or -1.
  (func $find (param $h i32) (param $hl i32) (param $n i32) (param $nl i32) (result i32)
    (local $i i32)
    (block $none
      (loop $outer
        (br_if $none (i32.gt_s (local.get $nl) (i32.sub (local.get $hl) (local.get $i))))
        (if (call $equal (i32.add (local.get $h) (local.get $i)) (local.get $n) (local.get $nl))
          (then (return (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (i32.const -1))

  (func $equal (param $a i32) (param $b i32) (param $n i32) (result i32)
    (local $i i32)
    (block $differ
      (loop $each
        (if (i32.ge_u (local.get $i) (local.get $n)) (then (return (i32.const 1))))
        (br_if $differ (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $i)))
                               (i32.load8_u (i32.add (local.get $b) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (i32.const 0))

  ;; Is the preopen `name` a directory that holds `path`?
  (func $covers (param $path i32) (param $plen i32) (param $name i32) (param $nlen i32) (result i32)
    (if (i32.and (i32.eq (local.get $nlen) (i32.const 1)) (i32.eq (i32.load8_u (local.get $name)) (i32.const 47)))
      (then (return (i32.const 1))))
    (if (i32.lt_u (local.get $plen) (local.get $nlen)) (then (return (i32.const 0))))
    (if (i32.eqz (call $equal (local.get $path) (local.get $name) (local.get $nlen))) (then (return (i32.const 0))))
    (if (i32.eq (local.get $plen) (local.get $nlen)) (then (return (i32.const 1))))
    (i32.eq (i32.load8_u (i32.add (local.get $path) (local.get $nlen))) (i32.const 47)))

  ;; Writes the decimal digits of v at dst; returns the end.
  (func $itoa (param $dst i32) (param $v i64) (result i32)
    (local $tmp i32)
    (local.set $tmp (i32.const 512))
    (loop $digit
      (local.set $tmp (i32.sub (local.get $tmp) (i32.const 1)))
      (i64.store8 (local.get $tmp) (i64.add (i64.const 48) (i64.rem_u (local.get $v) (i64.const 10))))
      (local.set $v (i64.div_u (local.get $v) (i64.const 10)))
      (br_if $digit (i64.ne (local.get $v) (i64.const 0))))
    (call $copy (local.get $dst) (local.get $tmp) (i32.sub (i32.const 512) (local.get $tmp))))

  (func (export "observe") (param $ptr i32) (param $len i32) (result i64)
    (local $p i32) (local $end i32) (local $path i32) (local $plen i32) (local $key i32)
    (local $fd i32) (local $best_fd i32) (local $best_len i32) (local $nlen i32)
    (local $rel i32) (local $rlen i32) (local $errno i32) (local $out i32) (local $at i32)
    (call $log (call $pack (i32.const 0x100800) (i32.const 81)))

    ;; The string after "path": in the config.
    (local.set $key (call $find (local.get $ptr) (local.get $len) (i32.const 0x100900) (i32.const 6)))
    (if (i32.lt_s (local.get $key) (i32.const 0))
      (then (return (call $pack (i32.const 0x100b40) (i32.const 147)))))
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (local.set $p (i32.add (i32.add (local.get $ptr) (local.get $key)) (i32.const 6)))
    (block $open
      (loop $skip
        (br_if $open (i32.ge_u (local.get $p) (local.get $end)))
        (br_if $open (i32.eq (i32.load8_u (local.get $p)) (i32.const 34)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $skip)))
    (if (i32.ge_u (local.get $p) (local.get $end))
      (then (return (call $pack (i32.const 0x100b40) (i32.const 147)))))
    (local.set $path (i32.add (local.get $p) (i32.const 1)))
    (local.set $p (local.get $path))
    (block $close
      (loop $scan
        (br_if $close (i32.ge_u (local.get $p) (local.get $end)))
        (br_if $close (i32.eq (i32.load8_u (local.get $p)) (i32.const 34)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $scan)))
    (local.set $plen (i32.sub (local.get $p) (local.get $path)))
    (if (i32.or (i32.eqz (local.get $plen)) (i32.ne (i32.load8_u (local.get $path)) (i32.const 47)))
      (then (return (call $pack (i32.const 0x100b40) (i32.const 147)))))

    ;; The preopened directory with the longest prefix of the path.
    (local.set $best_fd (i32.const -1))
    (local.set $fd (i32.const 3))
    (block $done
      (loop $each
        (br_if $done (call $fd_prestat_get (local.get $fd) (i32.const 0)))
        (local.set $nlen (i32.load (i32.const 4)))
        (if (i32.le_u (local.get $nlen) (i32.const 4096))
          (then
            (drop (call $fd_prestat_dir_name (local.get $fd) (i32.const 65536) (local.get $nlen)))
            (if (i32.and
                  (call $covers (local.get $path) (local.get $plen) (i32.const 65536) (local.get $nlen))
                  (i32.gt_s (local.get $nlen) (local.get $best_len)))
              (then (local.set $best_fd (local.get $fd)) (local.set $best_len (local.get $nlen))))))
        (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
        (br $each)))

    (local.set $out (call $allocate (i32.add (i32.mul (local.get $plen) (i32.const 2)) (i32.const 512))))
    (if (i32.lt_s (local.get $best_fd) (i32.const 0))
      (then (local.set $errno (i32.const 76)))
      (else
        (local.set $rel (i32.add (local.get $path) (local.get $best_len)))
        (local.set $rlen (i32.sub (local.get $plen) (local.get $best_len)))
        (if (i32.and (i32.gt_s (local.get $rlen) (i32.const 0)) (i32.eq (i32.load8_u (local.get $rel)) (i32.const 47)))
          (then (local.set $rel (i32.add (local.get $rel) (i32.const 1)))
                (local.set $rlen (i32.sub (local.get $rlen) (i32.const 1)))))
        (if (i32.eqz (local.get $rlen))
          (then (local.set $rel (i32.const 0x100c00)) (local.set $rlen (i32.const 1))))
        (local.set $errno (call $path_filestat_get (local.get $best_fd) (i32.const 1) (local.get $rel) (local.get $rlen) (i32.const 64)))))

    ;; errno 0: found; 44 (noent): absent; 2 (acces) or 76 (notcapable): not granted.
    (if (i32.eqz (local.get $errno))
      (then
        (local.set $at (call $copy (local.get $out) (i32.const 0x100910) (i32.const 44)))
        (local.set $at (call $copy (local.get $at) (local.get $path) (local.get $plen)))
        (local.set $at (call $copy (local.get $at) (i32.const 0x100960) (i32.const 23)))
        (local.set $at (call $itoa (local.get $at) (i64.load (i32.const 96))))
        (if (i32.eq (i32.load8_u (i32.const 80)) (i32.const 3))
          (then (local.set $at (call $copy (local.get $at) (i32.const 0x100980) (i32.const 27))))
          (else (local.set $at (call $copy (local.get $at) (i32.const 0x1009b0) (i32.const 28)))))
        (return (call $pack (local.get $out) (i32.sub (local.get $at) (local.get $out))))))
    (if (i32.eq (local.get $errno) (i32.const 44))
      (then
        (local.set $at (call $copy (local.get $out) (i32.const 0x100910) (i32.const 44)))
        (local.set $at (call $copy (local.get $at) (local.get $path) (local.get $plen)))
        (local.set $at (call $copy (local.get $at) (i32.const 0x1009e0) (i32.const 29)))
        (return (call $pack (local.get $out) (i32.sub (local.get $at) (local.get $out))))))
    (if (i32.or (i32.eq (local.get $errno) (i32.const 2)) (i32.eq (local.get $errno) (i32.const 76)))
      (then
        (local.set $at (call $copy (local.get $out) (i32.const 0x100a10) (i32.const 80)))
        (local.set $at (call $copy (local.get $at) (local.get $path) (local.get $plen)))
        (local.set $at (call $copy (local.get $at) (i32.const 0x100a70) (i32.const 55)))
        (local.set $at (call $copy (local.get $at) (local.get $path) (local.get $plen)))
        (local.set $at (call $copy (local.get $at) (i32.const 0x100ac0) (i32.const 14)))
        (return (call $pack (local.get $out) (i32.sub (local.get $at) (local.get $out))))))
    (local.set $at (call $copy (local.get $out) (i32.const 0x100ad0) (i32.const 48)))
    (local.set $at (call $copy (local.get $at) (local.get $path) (local.get $plen)))
    (local.set $at (call $copy (local.get $at) (i32.const 0x100b00) (i32.const 28)))
    (local.set $at (call $itoa (local.get $at) (i64.extend_i32_u (local.get $errno))))
    (local.set $at (call $copy (local.get $at) (i32.const 0x100b20) (i32.const 26)))
    (call $pack (local.get $out) (i32.sub (local.get $at) (local.get $out))))
)
