//! The fast evaluator on the engine's values.

use super::functions::number_text;
use super::*;
use serde_json::json;

fn fast(expr: &str, data: &serde_json::Value) -> Result<Option<serde_json::Value>, Stop> {
    let ast = jsonata_core::parser::parse(expr).expect("parses");
    let plan = Plan::new(&ast).ok_or(Stop::Fallback)?;
    let model = JsonModel::new(None, None);
    plan.evaluate(&model, Some(JsonItem::Value(data)))
        .and_then(|v| to_json(&v))
}

#[test]
fn number_text_is_javascripts() {
    let cases = [
        (1.0, "1"),
        (-2.5, "-2.5"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (0.000001, "0.000001"),
        (1.5e-7, "1.5e-7"),
        (123.456, "123.456"),
        (-0.0, "0"),
    ];
    for (x, text) in cases {
        assert_eq!(number_text(x).as_deref(), Some(text), "{x}");
    }
    assert_eq!(number_text(0.1 + 0.2), None);
}

#[test]
fn paths_predicates_and_constructors() {
    let data = json!({"a": {"items": [{"p": 1, "t": ["x"]}, {"p": 20, "t": ["y", "x"]}]}});
    assert_eq!(fast("a.items.p", &data), Ok(Some(json!([1, 20]))));
    assert_eq!(fast("a.items[p > 5].p", &data), Ok(Some(json!(20))));
    assert_eq!(fast("a.items[p > 5][].p", &data), Ok(Some(json!([20]))));
    assert_eq!(fast("a.items['x' in t].p", &data), Ok(Some(json!([1, 20]))));
    assert_eq!(fast("a.items[-1].p", &data), Ok(Some(json!(20))));
    assert_eq!(fast("a.items.t", &data), Ok(Some(json!(["x", "y", "x"]))));
    assert_eq!(fast("a.nothing", &data), Ok(None));
    assert_eq!(
        fast("{'n': $count(a.items), 's': $sum(a.items.p)}", &data),
        Ok(Some(json!({"n": 2, "s": 21})))
    );
    assert_eq!(
        fast(
            "$join($map(a.items, function($i) { $i.p & '!' }), ',')",
            &data
        ),
        Ok(Some(json!("1!,20!")))
    );
    assert_eq!(fast("(a.items^(>p)).p", &data), Ok(Some(json!([20, 1]))));
}

fn in_state(
    expr: &str,
    input: &serde_json::Value,
    vars: serde_json::Value,
) -> Out<Option<serde_json::Value>> {
    let ast = jsonata_core::parser::parse(expr).expect("parses");
    let plan = Plan::new(&ast).ok_or(Stop::Fallback)?;
    let context = json!({"Execution": {"Name": "x"}});
    let parts = StatesParts {
        input,
        result: None,
        error_output: None,
        context: Some(&context),
    };
    let vars = vars.as_object().cloned().unwrap_or_default();
    let model = JsonModel::new(Some(&parts), Some(&vars));
    plan.evaluate(&model, None).and_then(|v| to_json(&v))
}

#[test]
fn states_and_variables_are_read_where_they_lie() {
    let input = json!({"a": 2.0, "big": 1u64 << 60, "items": [1, 2, 3]});
    // Numbers come out as the jsonata-core road makes them: whole ones as integers.
    assert_eq!(
        in_state("$states.input.a", &input, json!({})),
        Ok(Some(json!(2)))
    );
    assert_eq!(
        in_state(
            "$states.input.items[$ > $limit]",
            &input,
            json!({"limit": 1})
        ),
        Ok(Some(json!([2, 3])))
    );
    assert_eq!(
        in_state("$states.context.Execution.Name", &input, json!({})),
        Ok(Some(json!("x")))
    );
    assert_eq!(
        in_state("$states", &json!({"a": 1}), json!({})),
        Ok(Some(
            json!({"input": {"a": 1}, "context": {"Execution": {"Name": "x"}}})
        ))
    );
    // An integer a double does not hold, an unbound variable, a variable that hides a
    // function: jsonata-core's to decide.
    assert_eq!(
        in_state("$states.input.big", &input, json!({})),
        Err(Stop::Fallback)
    );
    assert_eq!(
        in_state("$states.input", &input, json!({})),
        Err(Stop::Fallback)
    );
    assert_eq!(in_state("$nothing", &input, json!({})), Err(Stop::Fallback));
    assert_eq!(
        in_state("$sum($states.input.items)", &input, json!({"sum": 1})),
        Err(Stop::Fallback)
    );
    assert_eq!(
        in_state("$sum($states.input.items)", &input, json!({})),
        Ok(Some(json!(6)))
    );
}

#[test]
fn what_it_does_not_decide_falls_back() {
    let data = json!({"a": "x", "b": [1, 2]});
    assert_eq!(fast("a + 1", &data), Err(Stop::Fallback));
    assert_eq!(fast("b = [1, 2]", &data), Err(Stop::Fallback));
    assert_eq!(fast("$trim(a)", &data), Err(Stop::Fallback));
    assert_eq!(fast("$string(0.1 + 0.2)", &data), Err(Stop::Fallback));
}
