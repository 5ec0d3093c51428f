//! Bounding evaluation without a clock: the parsed expression is rewritten so that every unit of
//! repeatable work passes through a counter, and the evaluation stops with an error once the
//! counter's budget is spent.
//!
//! * every function body (lambda) and every function call ticks once per evaluation;
//! * every `( ... )` block ticks once per evaluation;
//! * every range `[a..b]` is charged its size before it is built;
//! * every string concatenation `a & b` is checked against a length limit.
//!
//! The ticks are `condition ? expr` conditionals whose condition is the counter (always true
//! while the budget lasts), so the value and the tail-call position of `expr` are unchanged.
//! Together with the evaluator's own depth and sequence-length limits this bounds both the time
//! (steps) and the memory an expression can take.

use std::cell::Cell;
use std::rc::Rc;

use jsonata_core::ast::{AstNode, BinaryOp, Stage};
use jsonata_core::evaluator::EvaluatorError;
use jsonata_core::value::JValue;

/// Host function that counts one step.
pub(crate) const TICK: &str = "__stepwise_tick";
/// Host function that charges a range its size and returns the range's start.
pub(crate) const CHARGE_RANGE: &str = "__stepwise_charge_range";
/// Host function that checks a concatenated string's length and returns it.
pub(crate) const CHECK_STRING: &str = "__stepwise_check_string";

/// Host function that checks a value's printed size and returns it.
pub(crate) const CHECK_SIZE: &str = "__stepwise_check_size";

/// Host function that checks a `$pad` width and returns it.
pub(crate) const CHECK_WIDTH: &str = "__stepwise_check_width";

/// Steps one evaluation may take.
pub(crate) const MAX_STEPS: u64 = 1_000_000;
/// Longest string a concatenation may build (characters, counted as UTF-8 bytes).
pub(crate) const MAX_STRING_BYTES: usize = 16 * 1024 * 1024;
/// Deepest expression tree accepted.
pub(crate) const MAX_AST_DEPTH: usize = 2_000;

/// The step budget of one evaluation.
#[derive(Clone, Default)]
pub(crate) struct Budget(Rc<Cell<u64>>);

impl Budget {
    /// Spends `steps`; fails once the total exceeds [`MAX_STEPS`].
    pub(crate) fn spend(&self, steps: u64) -> Result<(), EvaluatorError> {
        let used = self.0.get().saturating_add(steps);
        self.0.set(used);
        if used > MAX_STEPS {
            return Err(EvaluatorError::EvaluationError(format!(
                "The expression exceeded the limit of {MAX_STEPS} evaluation steps"
            )));
        }
        Ok(())
    }
}

/// `$__stepwise_tick()`: one step; `true`.
pub(crate) fn tick(budget: &Budget) -> Result<JValue, EvaluatorError> {
    budget.spend(1)?;
    Ok(JValue::Bool(true))
}

/// `$__stepwise_charge_range(start, end)`: charges `end - start + 1` steps; returns `start`.
pub(crate) fn charge_range(args: &[JValue], budget: &Budget) -> Result<JValue, EvaluatorError> {
    let start = args.first().cloned().unwrap_or(JValue::Undefined);
    if let (Some(a), Some(b)) = (start.as_f64(), args.get(1).and_then(JValue::as_f64)) {
        let size = b - a + 1.0;
        if size.is_finite() && size >= 1.0 {
            // The range operator itself refuses more than 10^7 items (D2014).
            budget.spend(size.min(1e7) as u64)?;
        }
    }
    Ok(start)
}

/// `$__stepwise_check_string(s)`: `s`, if it is no longer than [`MAX_STRING_BYTES`].
pub(crate) fn check_string(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let value = args.first().cloned().unwrap_or(JValue::Undefined);
    if let Some(s) = value.as_str() {
        if s.len() > MAX_STRING_BYTES {
            return Err(EvaluatorError::EvaluationError(format!(
                "The expression built a string longer than {MAX_STRING_BYTES} characters"
            )));
        }
    }
    Ok(value)
}

/// `$__stepwise_check_size(v)`: `v`, if its text (as `$string` prints it) is no longer than
/// [`MAX_STRING_BYTES`]; strings are shared, so an array can reference one string many times.
pub(crate) fn check_size(args: &[JValue], budget: &Budget) -> Result<JValue, EvaluatorError> {
    let value = args.first().cloned().unwrap_or(JValue::Undefined);
    let mut total = 0usize;
    let mut stack = vec![&value];
    while let Some(v) = stack.pop() {
        total = total.saturating_add(match v {
            JValue::String(s) => s.len() + 2,
            JValue::Array(items) => {
                stack.extend(items.iter());
                items.len() + 2
            }
            JValue::Object(map) => {
                for (key, item) in map.iter() {
                    total = total.saturating_add(key.len() + 4);
                    stack.push(item);
                }
                2
            }
            _ => 8,
        });
        if total > MAX_STRING_BYTES {
            return Err(EvaluatorError::EvaluationError(format!(
                "The expression built a value longer than {MAX_STRING_BYTES} characters"
            )));
        }
    }
    budget.spend((total / 1024) as u64)?;
    Ok(value)
}

/// `$__stepwise_check_width(n)`: `n`, if a string that wide stays within [`MAX_STRING_BYTES`].
pub(crate) fn check_width(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let value = args.first().cloned().unwrap_or(JValue::Undefined);
    if let Some(n) = value.as_f64() {
        if n.abs() > MAX_STRING_BYTES as f64 {
            return Err(EvaluatorError::EvaluationError(format!(
                "The expression built a string longer than {MAX_STRING_BYTES} characters"
            )));
        }
    }
    Ok(value)
}

fn call(name: &str, args: Vec<AstNode>) -> AstNode {
    AstNode::Function {
        name: name.to_string(),
        args,
        is_builtin: true,
    }
}

fn ticked(node: AstNode) -> AstNode {
    AstNode::Conditional {
        condition: Box::new(call(TICK, Vec::new())),
        then_branch: Box::new(node),
        else_branch: None,
    }
}

/// Instruments `node` (see the module documentation) and rewrites `$now(...)` into
/// `$fromMillis($millis(), ...)`. Fails when the tree is deeper than [`MAX_AST_DEPTH`].
pub(crate) fn instrument(node: &mut AstNode) -> Result<(), String> {
    walk(node, 0, false)
}

fn too_deep() -> String {
    format!("The expression is nested more than {MAX_AST_DEPTH} levels deep")
}

/// `chain_rhs`: the node is the right-hand side of `~>`, where a call must stay a call.
fn walk(node: &mut AstNode, depth: usize, chain_rhs: bool) -> Result<(), String> {
    if depth > MAX_AST_DEPTH {
        return Err(too_deep());
    }
    let d = depth + 1;
    let mut wrap = false;
    match node {
        AstNode::Path { steps } => {
            for (index, step) in steps.iter_mut().enumerate() {
                // `x ~> $f()[p]` applies the path's head call to `x`: it must stay a call.
                walk(&mut step.node, d, chain_rhs && index == 0)?;
                for stage in &mut step.stages {
                    if let Stage::Filter(filter) = stage {
                        walk(filter, d, false)?;
                    }
                }
            }
        }
        AstNode::Binary { op, lhs, rhs } => {
            walk(lhs, d, false)?;
            walk(rhs, d, *op == BinaryOp::ChainPipe)?;
            match op {
                BinaryOp::Range => {
                    let start = std::mem::replace(lhs.as_mut(), AstNode::Undefined);
                    **lhs = call(CHARGE_RANGE, vec![start, (**rhs).clone()]);
                }
                BinaryOp::Concatenate => {
                    for side in [lhs, rhs] {
                        let operand = std::mem::replace(side.as_mut(), AstNode::Undefined);
                        **side = call(CHECK_SIZE, vec![operand]);
                    }
                    let concat = std::mem::replace(node, AstNode::Undefined);
                    *node = call(CHECK_STRING, vec![concat]);
                }
                _ => {}
            }
        }
        AstNode::Unary { operand, .. } => walk(operand, d, false)?,
        AstNode::Function {
            name,
            args,
            is_builtin,
        } => {
            for arg in args.iter_mut() {
                walk(arg, d, false)?;
            }
            // Arguments whose size decides how much a builtin allocates are checked first.
            let sized = match name.as_str() {
                "string" | "join" | "pad" | "replace" => Some(usize::from(name == "pad")),
                _ => None,
            };
            if let Some(index) = sized.filter(|_| *is_builtin) {
                if let Some(arg) = args.get_mut(index) {
                    if !matches!(arg, AstNode::Placeholder) {
                        let inner = std::mem::replace(arg, AstNode::Undefined);
                        *arg = call(
                            if index == 1 { CHECK_WIDTH } else { CHECK_SIZE },
                            vec![inner],
                        );
                    }
                }
            }
            if *is_builtin && name == "now" {
                // $now(picture, tz) is $fromMillis(<the evaluation's millis>, picture, tz).
                let mut new_args = vec![call("millis", Vec::new())];
                new_args.append(args);
                *name = "fromMillis".to_string();
                *args = new_args;
            }
            wrap = !chain_rhs;
        }
        AstNode::Call { procedure, args } => {
            walk(procedure, d, false)?;
            for arg in args.iter_mut() {
                walk(arg, d, false)?;
            }
            wrap = !chain_rhs;
        }
        AstNode::Lambda { body, .. } => {
            walk(body, d, false)?;
            let inner = std::mem::replace(body.as_mut(), AstNode::Undefined);
            **body = ticked(inner);
        }
        // An array constructor stays one: the evaluator keeps a nested constructor's array.
        AstNode::Array(items) | AstNode::ArrayGroup(items) => {
            for item in items.iter_mut() {
                walk(item, d, false)?;
            }
        }
        AstNode::Block(items) => {
            for item in items.iter_mut() {
                walk(item, d, false)?;
            }
            wrap = !chain_rhs;
        }
        AstNode::Object(pairs) => {
            for (key, value) in pairs {
                walk(key, d, false)?;
                walk(value, d, false)?;
            }
        }
        AstNode::ObjectTransform { input, pattern } => {
            walk(input, d, false)?;
            for (key, value) in pattern {
                walk(key, d, false)?;
                walk(value, d, false)?;
            }
        }
        AstNode::Conditional {
            condition,
            then_branch,
            else_branch,
        } => {
            walk(condition, d, false)?;
            walk(then_branch, d, false)?;
            if let Some(other) = else_branch {
                walk(other, d, false)?;
            }
        }
        AstNode::FunctionApplication(inner) => walk(inner, d, false)?,
        AstNode::Sort { input, terms } => {
            walk(input, d, false)?;
            for (term, _) in terms {
                walk(term, d, false)?;
            }
        }
        AstNode::Transform {
            location,
            update,
            delete,
        } => {
            walk(location, d, false)?;
            walk(update, d, false)?;
            if let Some(delete) = delete {
                walk(delete, d, false)?;
            }
        }
        _ => {}
    }
    if wrap {
        let inner = std::mem::replace(node, AstNode::Undefined);
        *node = ticked(inner);
    }
    Ok(())
}

/// The deepest bracket nesting of an expression's text, ignoring string literals and comments:
/// a cheap bound checked before parsing so the parser never recurses too deep.
pub(crate) fn text_nesting_exceeds(expr: &str, limit: usize) -> bool {
    let bytes = expr.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'"' | b'\'' | b'`') => {
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    false
}
