use super::*;

fn counts(requests: u32, failures: u32, consecutive_failures: u32) -> Counts {
    Counts {
        requests,
        total_successes: requests - failures,
        total_failures: failures,
        consecutive_successes: 0,
        consecutive_failures,
    }
}

fn trips(expr: &str, c: Counts) -> bool {
    TripExpr::compile(expr)
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
        .should_trip(&c)
}

#[test]
fn the_expressions_people_write() {
    assert!(!trips("consecutiveFailures >= 5", counts(4, 4, 4)));
    assert!(trips("consecutiveFailures >= 5", counts(5, 5, 5)));
    assert!(!trips("consecutiveFailures > 5", counts(5, 5, 5)));
    assert!(trips("consecutiveFailures > 5", counts(6, 6, 6)));
    assert!(trips("totalFailures > 4", counts(9, 5, 1)));
    assert!(trips("requests > 4", counts(5, 1, 1)));
    let ratio = "requests >= 3 && totalFailures * 10 >= requests * 6";
    assert!(!trips(ratio, counts(2, 2, 2)));
    assert!(trips(ratio, counts(3, 2, 1)));
    assert!(!trips(ratio, counts(4, 2, 1)));
    assert!(trips(
        "requests >= 3 && double(totalFailures) / double(requests) >= 0.6",
        counts(5, 3, 1)
    ));
    assert!(trips(
        "!(consecutiveFailures < 3) || totalFailures > 100",
        counts(3, 3, 3)
    ));
    assert!(!trips(
        "!(consecutiveFailures < 3) || totalFailures > 100",
        counts(2, 2, 2)
    ));
}

#[test]
fn precedence_and_associativity() {
    assert!(trips("1 + 2 * 3 == 7", Counts::default()));
    assert!(trips("(1 + 2) * 3 == 9", Counts::default()));
    assert!(trips("10 - 4 - 3 == 3", Counts::default()));
    assert!(trips("7 % 4 == 3 && 7 / 2 == 3", Counts::default()));
    assert!(trips("true || false && false", Counts::default()));
    assert!(trips("false ? false : true", Counts::default()));
    assert!(trips("-consecutiveFailures < 0", counts(1, 1, 1)));
    assert!(trips("-9223372036854775808 < 0", Counts::default()));
    assert!(trips(
        "0x10 == 16 && 3u > 2u && .5 < 1.0 && 1e3 == 1000.0",
        Counts::default()
    ));
}

#[test]
fn unknown_identifiers_compile_but_never_trip() {
    let e = TripExpr::compile("failures > 1").unwrap();
    assert_eq!(e.unknown_variables(), &[("failures".to_string(), 0..8)]);
    assert_eq!(e.evaluate(&counts(100, 100, 100)), Err("no such attribute".to_string()));
    assert!(!e.should_trip(&counts(100, 100, 100)));
    // CEL's `||` absorbs the error when the other side is true.
    assert!(trips("failures > 1 || true", Counts::default()));
    assert!(!trips("failures > 1 && true", Counts::default()));
    assert!(!trips("failures > 1 && false", Counts::default()));
}

#[test]
fn errors_at_evaluation_mean_no_trip() {
    assert!(!trips("consecutiveFailures * 9223372036854775807 > 0", counts(2, 2, 2)));
    let e = TripExpr::compile("requests / 0 > 1").unwrap();
    assert_eq!(e.evaluate(&counts(1, 1, 1)), Err("division by zero".to_string()));
    assert!(
        trips("requests / 0 > 1 || consecutiveFailures > 2", counts(3, 3, 3)),
        "the error is absorbed"
    );
    assert!(!trips("requests % 0 == 0", counts(1, 1, 1)));
    assert!(!trips("int(1e300) > 0", Counts::default()));
    assert!(!trips("uint(-1) > 0u", Counts::default()));
}

#[test]
fn type_errors_are_check_errors() {
    let err = |s: &str| TripExpr::compile(s).unwrap_err();
    let e = err("1 == 1.0");
    assert_eq!(
        (e.kind, e.message.as_str()),
        (
            TripErrorKind::Check,
            "found no matching overload for '_==_' applied to '(int, double)'"
        )
    );
    let e = err("requests + true > 1");
    assert_eq!(
        e.message,
        "found no matching overload for '_+_' applied to '(dyn, bool)'"
    );
    assert_eq!(e.span, 0..15);
    assert_eq!(
        err("!5").message,
        "found no matching overload for '!_' applied to '(int)'"
    );
    assert_eq!(
        err("5.0 % 2.0 == 1.0").message,
        "found no matching overload for '_%_' applied to '(double, double)'"
    );
    assert_eq!(
        err("true ? 1 : 2.0").message,
        "found no matching overload for '_?_:_' applied to '(bool, int, double)'"
    );
    // dyn operands match anything numeric: accepted, compared by value at run time.
    assert!(trips("requests == 1.0", counts(1, 0, 0)));
    assert!(trips("requests >= 0.5", counts(1, 0, 0)));
}

#[test]
fn static_type_of_non_conditions() {
    assert_eq!(TripExpr::compile("5 + 1").unwrap().statically_non_bool(), Some("int"));
    assert_eq!(
        TripExpr::compile("requests").unwrap().statically_non_bool(),
        None,
        "dyn may be a bool"
    );
    assert_eq!(TripExpr::compile("requests > 1").unwrap().statically_non_bool(), None);
    assert!(!trips("requests", counts(1, 0, 0)), "an int result never trips");
}

#[test]
fn syntax_errors_point_at_the_problem() {
    let err = |s: &str| TripExpr::compile(s).unwrap_err();
    let e = err("consecutiveFailures >= ");
    assert_eq!((e.kind, e.span.clone()), (TripErrorKind::Syntax, 23..23));
    assert_eq!(e.message, "expected a value, found the end of the expression");
    let e = err("consecutiveFailures => 5");
    assert_eq!(
        (e.span.clone(), e.message.as_str()),
        (20..22, "unexpected `=>`: write `>=`")
    );
    let e = err("consecutiveFailures = 5");
    assert_eq!(e.span, 20..21);
    assert_eq!(
        err("(requests > 1").message,
        "expected `)`, found the end of the expression"
    );
    assert_eq!(err("requests > 1)").message, "unexpected `)`");
    assert_eq!(err("a & b").message, "unexpected `&`: write `&&`");
    assert_eq!(
        err("size(x) > 1").message,
        "function `size` is not supported in trip expressions (only int, uint, double)"
    );
    assert_eq!(
        err("counts.failures > 1").message,
        "field access is not supported in trip expressions"
    );
    assert_eq!(
        err("'a' == 'a'").message,
        "strings are not supported in trip expressions"
    );
    assert_eq!(err("9223372036854775808 > 0").message, "integer literal out of range");
    assert_eq!(err("5x > 1").message, "a number cannot be followed by a letter");
    assert_eq!(err("").message, "expected a value, found the end of the expression");
}

#[test]
fn limits() {
    let deep = format!("{}requests{}", "(".repeat(150), ")".repeat(150));
    assert_eq!(
        TripExpr::compile(&deep).unwrap_err().message,
        "expression nested too deeply"
    );
    let long_chain = vec!["requests"; 300].join(" + ") + " > 1";
    assert_eq!(
        TripExpr::compile(&long_chain).unwrap_err().message,
        "expression nested too deeply"
    );
    let nots = format!("{}true", "!".repeat(500));
    assert!(TripExpr::compile(&nots).is_err());
    assert!(TripExpr::compile(&"1".repeat(5000)).is_err());
    assert!(TripExpr::compile("requests > 1 // a comment").is_ok());
    let e = TripExpr::compile("requests > é").unwrap_err();
    assert_eq!(e.span, 11..13, "spans stay on char boundaries");
}

#[test]
fn never_panics_on_junk() {
    let alphabet = [
        "requests", "failures", "1", "0x1f", "2u", "0.5", "-", "+", "*", "/", "%", "(", ")", "!", "&&", "||", "==",
        "<", ">=", "?", ":", "true", "null", "int(", "é", "\"", ".", "=", " ",
    ];
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..5000 {
        let n = rng.usize(0..12);
        let text: String = (0..n).map(|_| alphabet[rng.usize(0..alphabet.len())]).collect();
        if let Ok(e) = TripExpr::compile(&text) {
            let _ = e.evaluate(&counts(rng.u32(0..10), 0, rng.u32(0..10)));
        }
    }
}
