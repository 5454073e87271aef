;; host_call: a Reglet plugin (ABI generation 1) that calls one reglet_host function and returns
;; the host's answer as its evidence, so the host functions and their grants can be tried by hand.
;;
;; Config: the request of the function, plus "function": "dns_lookup" | "http_request" |
;; "tcp_connect" | "smtp_connect" | "exec_command". The whole config goes to the host as the
;; request (the host ignores keys it does not know), exactly as a Go SDK plugin sends it: the
;; request in guest memory, the answer written back through this plugin's `allocate`.
;; Evidence: {"Status":true,"Data":{"answer":<the host's JSON answer>}}; a refused or failed
;; call shows up as the answer's "error" object.
(module
  (import "reglet_host" "dns_lookup" (func $dns_lookup (param i64) (result i64)))
  (import "reglet_host" "http_request" (func $http_request (param i64) (result i64)))
  (import "reglet_host" "tcp_connect" (func $tcp_connect (param i64) (result i64)))
  (import "reglet_host" "smtp_connect" (func $smtp_connect (param i64) (result i64)))
  (import "reglet_host" "exec_command" (func $exec_command (param i64) (result i64)))

  (memory (export "memory") 17)
  (global $heap (mut i32) (i32.const 0x110000))

  (data (i32.const 0x100000) "{\"name\":\"host_call\",\"version\":\"0.1.0\",\"description\":\"Calls one reglet_host function with its config as the request and returns the host's answer\",\"sdk_version\":\"0.1.0-alpha\",\"min_host_version\":\"0.2.0\",\"capabilities\":[]}")
  (data (i32.const 0x1000e0) "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\",\"properties\":{\"function\":{\"type\":\"string\",\"enum\":[\"dns_lookup\",\"http_request\",\"tcp_connect\",\"smtp_connect\",\"exec_command\"],\"description\":\"The host function to call; every other key is its request\"}},\"required\":[\"function\"]}")
  (data (i32.const 0x100210) "{\"Status\":true,\"Error\":null,\"Data\":{\"answer\":")
  (data (i32.const 0x100240) "},\"Raw\":null}")
  (data (i32.const 0x100250) "{\"Status\":false,\"Error\":{\"message\":\"config needs \\\"function\\\": one of dns_lookup, http_request, tcp_connect, smtp_connect, exec_command\",\"type\":\"config\",\"code\":\"function\"},\"Data\":null,\"Raw\":null}")
  (data (i32.const 0x100320) "\"function\":\"dns_lookup\"")
  (data (i32.const 0x100340) "\"function\":\"http_request\"")
  (data (i32.const 0x100360) "\"function\":\"tcp_connect\"")
  (data (i32.const 0x100380) "\"function\":\"smtp_connect\"")
  (data (i32.const 0x1003a0) "\"function\":\"exec_command\"")

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

  (func (export "describe") (result i64) (call $pack (i32.const 0x100000) (i32.const 219)))
  (func (export "schema") (result i64) (call $pack (i32.const 0x1000e0) (i32.const 297)))

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

  ;; Wraps the host's packed answer in Evidence.
  (func $evidence (param $answer i64) (result i64)
    (local $ptr i32) (local $len i32) (local $out i32) (local $at i32)
    (local.set $ptr (i32.wrap_i64 (i64.shr_u (local.get $answer) (i64.const 32))))
    (local.set $len (i32.wrap_i64 (local.get $answer)))
    (local.set $out (call $allocate (i32.add (local.get $len) (i32.const 64))))
    (local.set $at (call $copy (local.get $out) (i32.const 0x100210) (i32.const 45)))
    (local.set $at (call $copy (local.get $at) (local.get $ptr) (local.get $len)))
    (local.set $at (call $copy (local.get $at) (i32.const 0x100240) (i32.const 13)))
    (call $pack (local.get $out) (i32.sub (local.get $at) (local.get $out))))

  (func (export "observe") (param $ptr i32) (param $len i32) (result i64)
    (if (i32.ge_s (call $find (local.get $ptr) (local.get $len) (i32.const 0x100320) (i32.const 23)) (i32.const 0))
      (then (return (call $evidence (call $dns_lookup (call $pack (local.get $ptr) (local.get $len)))))))
    (if (i32.ge_s (call $find (local.get $ptr) (local.get $len) (i32.const 0x100340) (i32.const 25)) (i32.const 0))
      (then (return (call $evidence (call $http_request (call $pack (local.get $ptr) (local.get $len)))))))
    (if (i32.ge_s (call $find (local.get $ptr) (local.get $len) (i32.const 0x100360) (i32.const 24)) (i32.const 0))
      (then (return (call $evidence (call $tcp_connect (call $pack (local.get $ptr) (local.get $len)))))))
    (if (i32.ge_s (call $find (local.get $ptr) (local.get $len) (i32.const 0x100380) (i32.const 25)) (i32.const 0))
      (then (return (call $evidence (call $smtp_connect (call $pack (local.get $ptr) (local.get $len)))))))
    (if (i32.ge_s (call $find (local.get $ptr) (local.get $len) (i32.const 0x1003a0) (i32.const 25)) (i32.const 0))
      (then (return (call $evidence (call $exec_command (call $pack (local.get $ptr) (local.get $len)))))))
    (call $pack (i32.const 0x100250) (i32.const 195)))
)
