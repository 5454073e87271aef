//! The Reglet plugin ABI: which generation a module speaks, what it must export, and how results
//! travel as packed `(ptr << 32) | len` values.

use reglet_domain::{AbiGeneration, PluginError};
use wasmtime::{ExternType, FuncType, Module, ModuleExport, ValType};

/// Direct handles to the exports each call needs, resolved once at load instead of by name in
/// every fresh instance.
#[derive(Clone, Copy)]
pub(crate) struct ExportHandles {
    pub(crate) memory: ModuleExport,
    pub(crate) allocate: ModuleExport,
    pub(crate) initialize: Option<ModuleExport>,
    pub(crate) observe: ModuleExport,
}

impl std::fmt::Debug for ExportHandles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExportHandles")
    }
}

/// The exports a plugin is called through, checked at load.
#[derive(Debug, Clone)]
pub(crate) struct Exports {
    pub(crate) handles: ExportHandles,
    pub(crate) generation: AbiGeneration,
    /// `describe` (Gen 1) or `_manifest` (Gen 2).
    pub(crate) describe: &'static str,
    /// `schema` (Gen 1); Gen 2 carries the schema in its manifest.
    pub(crate) schema: Option<&'static str>,
    /// `observe` (Gen 1) or `_observe` (Gen 2).
    pub(crate) observe: &'static str,
}

fn signature(params: &[ValType], results: &[ValType]) -> String {
    let list = |types: &[ValType]| {
        types
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("({}) -> ({})", list(params), list(results))
}

fn matches(ty: &FuncType, params: &[ValType], results: &[ValType]) -> bool {
    let same = |a: &mut dyn Iterator<Item = ValType>, b: &[ValType]| {
        let a: Vec<ValType> = a.collect();
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| ValType::eq(x, y))
    };
    same(&mut ty.params(), params) && same(&mut ty.results(), results)
}

/// Detects the ABI generation from the module's exports and checks every export it needs.
///
/// `_manifest` + `_observe` is Gen 2; `describe` + `observe` is Gen 1. A module with `_start` but
/// no `_initialize` was built as a command, whose `main` exits the runtime, and is refused with
/// the flag that fixes it.
pub(crate) fn inspect(module: &Module, plugin: &str) -> Result<Exports, PluginError> {
    let export = |name: &str| module.get_export(name);
    let has = |name: &str| export(name).is_some();
    if has("_start") && !has("_initialize") {
        return Err(PluginError::load(format!(
            "plugin {plugin} exports _start but not _initialize: it was built as a command, not a \
             reactor. Rebuild it with `GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared` (or \
             the equivalent reactor flag of your toolchain)"
        )));
    }
    let (generation, describe, schema, observe) = if has("_manifest") || has("_observe") {
        (AbiGeneration::Gen2, "_manifest", None, "_observe")
    } else if has("describe") || has("observe") {
        (AbiGeneration::Gen1, "describe", Some("schema"), "observe")
    } else {
        return Err(PluginError::load(format!(
            "plugin {plugin} is not a Reglet plugin: it exports neither describe/observe (ABI \
             generation 1) nor _manifest/_observe (generation 2)"
        )));
    };
    use ValType::{I32, I64};
    let mut required: Vec<(&str, &[ValType], &[ValType])> = vec![
        (describe, &[], &[I64]),
        (observe, &[I32, I32], &[I64]),
        ("allocate", &[I32], &[I32]),
    ];
    if let Some(schema) = schema {
        required.push((schema, &[], &[I64]));
    }
    for (name, params, results) in required {
        match export(name) {
            None => {
                return Err(PluginError::load(format!(
                    "plugin {plugin} ({generation}) does not export the required function {name}"
                )));
            }
            Some(ExternType::Func(ty)) if matches(&ty, params, results) => {}
            Some(other) => {
                return Err(PluginError::load(format!(
                    "plugin {plugin} exports {name} as {}, expected a function {}",
                    describe_type(&other),
                    signature(params, results)
                )));
            }
        }
    }
    if !matches!(export("memory"), Some(ExternType::Memory(_))) {
        return Err(PluginError::load(format!(
            "plugin {plugin} does not export its linear memory as \"memory\""
        )));
    }
    let optional =
        |name: &str, params: &[ValType], results: &[ValType]| -> Result<bool, PluginError> {
            match export(name) {
                None => Ok(false),
                Some(ExternType::Func(ty)) if matches(&ty, params, results) => Ok(true),
                Some(other) => Err(PluginError::load(format!(
                    "plugin {plugin} exports {name} as {}, expected a function {}",
                    describe_type(&other),
                    signature(params, results)
                ))),
            }
        };
    let initialize = optional("_initialize", &[], &[])?;
    // Never called (each instance serves one call), but a wrong signature is still refused.
    optional("deallocate", &[I32, I32], &[])?;
    let handle = |name: &str| {
        module
            .get_export_index(name)
            .expect("the export was found above")
    };
    Ok(Exports {
        handles: ExportHandles {
            memory: handle("memory"),
            allocate: handle("allocate"),
            initialize: initialize.then(|| handle("_initialize")),
            observe: handle(observe),
        },
        generation,
        describe,
        schema,
        observe,
    })
}

fn describe_type(ty: &ExternType) -> String {
    match ty {
        ExternType::Func(f) => {
            let params: Vec<ValType> = f.params().collect();
            let results: Vec<ValType> = f.results().collect();
            format!("a function {}", signature(&params, &results))
        }
        ExternType::Global(_) => "a global".into(),
        ExternType::Table(_) => "a table".into(),
        ExternType::Memory(_) => "a memory".into(),
        _ => "something else".into(),
    }
}

use crate::guest_word::unpack;

/// The result a guest export returned, in its memory; null, out-of-bounds and oversized results
/// are refused.
pub(crate) fn read_result<'m>(
    memory: &'m [u8],
    packed: u64,
    max: usize,
    plugin: &str,
    export: &str,
) -> Result<&'m [u8], PluginError> {
    let (ptr, len) = unpack(packed);
    if ptr == 0 || len == 0 {
        return Err(PluginError::execution(format!(
            "{export}() of plugin {plugin} returned a null pointer or zero length (ptr {ptr}, len {len})"
        )));
    }
    if len as usize > max {
        return Err(PluginError::invalid_result(format!(
            "{export}() of plugin {plugin} returned {len} bytes, more than the {max}-byte limit"
        )));
    }
    let start = ptr as usize;
    let end = start + len as usize;
    if end > memory.len() {
        return Err(PluginError::execution(format!(
            "{export}() of plugin {plugin} returned an out-of-bounds result: {len} bytes at {ptr:#x}, \
             but memory is {} bytes",
            memory.len()
        )));
    }
    Ok(&memory[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest_word::pack;
    use proptest::prelude::*;
    use reglet_domain::PluginErrorCode;

    fn module(wat: &str) -> Module {
        Module::new(&wasmtime::Engine::default(), wat::parse_str(wat).unwrap()).unwrap()
    }

    const GEN1: &str = r#"(module (memory (export "memory") 1)
        (func (export "describe") (result i64) i64.const 0)
        (func (export "schema") (result i64) i64.const 0)
        (func (export "observe") (param i32 i32) (result i64) i64.const 0)
        (func (export "allocate") (param i32) (result i32) i32.const 0)
        (func (export "deallocate") (param i32 i32))
        (func (export "_initialize")))"#;

    #[test]
    fn detects_generations() {
        let exports = inspect(&module(GEN1), "p").unwrap();
        assert_eq!(exports.generation, AbiGeneration::Gen1);
        assert!(exports.handles.initialize.is_some());
        let gen2 = GEN1
            .replace("\"describe\"", "\"_manifest\"")
            .replace("\"observe\"", "\"_observe\"");
        let exports = inspect(&module(&gen2), "p").unwrap();
        assert_eq!(exports.generation, AbiGeneration::Gen2);
        assert_eq!(exports.schema, None);
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        for (wat, needle) in [
            (
                GEN1.replace(
                    "(func (export \"_initialize\"))",
                    "(func (export \"_start\"))",
                ),
                "-buildmode=c-shared",
            ),
            (
                GEN1.replace("(export \"allocate\")", ""),
                "required function allocate",
            ),
            (
                GEN1.replace("(export \"schema\")", ""),
                "required function schema",
            ),
            (
                GEN1.replace(
                    "(func (export \"observe\") (param i32 i32) (result i64) i64.const 0)",
                    "(func (export \"observe\") (param i32 i32) (result i32) i32.const 0)",
                ),
                "expected a function (i32, i32) -> (i64)",
            ),
            (
                GEN1.replace("(memory (export \"memory\") 1)", "(memory 1)"),
                "\"memory\"",
            ),
            (
                r#"(module (func (export "run")))"#.to_owned(),
                "not a Reglet plugin",
            ),
        ] {
            let err = inspect(&module(&wat), "p").unwrap_err();
            assert_eq!(err.code(), PluginErrorCode::PluginLoadError);
            assert!(err.message().contains(needle), "{needle}: {err}");
        }
    }

    #[test]
    fn results_are_checked() {
        let memory = vec![7u8; 100];
        assert_eq!(
            read_result(&memory, pack(10, 5), 64, "p", "observe").unwrap(),
            vec![7; 5]
        );
        for (packed, code) in [
            (0, PluginErrorCode::PluginExecutionError),
            (pack(0, 5), PluginErrorCode::PluginExecutionError),
            (pack(10, 0), PluginErrorCode::PluginExecutionError),
            (pack(96, 8), PluginErrorCode::PluginExecutionError),
            (pack(1, u32::MAX), PluginErrorCode::InvalidPluginResult),
            (pack(u32::MAX, 64), PluginErrorCode::PluginExecutionError),
        ] {
            assert_eq!(
                read_result(&memory, packed, 64, "p", "observe")
                    .unwrap_err()
                    .code(),
                code,
                "{packed:#x}"
            );
        }
    }

    proptest! {
        #[test]
        fn packing_round_trips(ptr in any::<u32>(), len in any::<u32>()) {
            prop_assert_eq!(unpack(pack(ptr, len)), (ptr, len));
        }

        #[test]
        fn reading_never_panics(packed in any::<u64>(), size in 0usize..4096) {
            let memory = vec![0u8; size];
            let _ = read_result(&memory, packed, 1 << 20, "p", "observe");
        }
    }
}
