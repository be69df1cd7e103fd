use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

/// The document is pinned: any API change shows up as a snapshot diff to review
/// (`cargo insta review`, or INSTA_UPDATE=always to accept).
#[test]
fn the_openapi_document_is_pinned() {
    let doc = serde_json::to_value(quotidian::routers::openapi()).unwrap();
    insta::assert_json_snapshot!("openapi", doc);
}

#[tokio::test]
async fn the_served_document_is_the_pinned_one_and_docs_are_interactive() {
    let app = spawn_app().await;
    let served: Value = reqwest::get(app.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        served,
        serde_json::to_value(quotidian::routers::openapi()).unwrap()
    );
    let docs = reqwest::get(app.url("/docs/")).await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("swagger"));
}

#[test]
fn every_operation_is_documented_with_its_errors() {
    let doc = serde_json::to_value(quotidian::routers::openapi()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let name = format!("{method} {path}");
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{name}: no summary"
            );
            let responses = op["responses"].as_object().unwrap();
            let secured = op.get("security").is_some();
            if secured {
                assert!(
                    responses.contains_key("401"),
                    "{name}: secured but no 401 documented"
                );
            }
            if op.get("requestBody").is_some() {
                assert!(
                    responses.keys().any(|code| code.starts_with('4')),
                    "{name}: takes a body but documents no 4xx"
                );
                // What the JSON extractor refuses before the handler runs.
                let content = op["requestBody"]["content"].as_object().unwrap();
                if content.keys().eq(["application/json"]) {
                    for code in ["400", "413", "415", "422"] {
                        assert!(
                            responses.contains_key(code),
                            "{name}: takes JSON but documents no {code}"
                        );
                    }
                }
                let schema = &op["requestBody"]["content"]["application/json"]["schema"]["$ref"];
                let schema_name = schema.as_str().unwrap().rsplit('/').next().unwrap();
                let component = &doc["components"]["schemas"][schema_name];
                assert!(
                    component.get("example").is_some(),
                    "{name}: request schema {schema_name} has no example"
                );
            }
            // Pages people open in a browser (the unsubscribe page) answer errors
            // as HTML pages; the API answers problem+json.
            let is_page = response_is_html_page(op);
            for (code, response) in responses {
                if (code.starts_with('4') || code.starts_with('5')) && !is_page {
                    assert!(
                        response["content"]
                            .get("application/problem+json")
                            .is_some(),
                        "{name} {code}: errors are problem+json"
                    );
                }
            }
        }
    }
    assert!(operations >= 16, "only {operations} operations documented");
    assert!(doc["components"]["securitySchemes"]["session"].is_object());
}

/// An operation whose successful answer is an HTML page.
/// Code generators (the web page's openapi-typescript) rely on these: a parameter's
/// place is where it really is, and every operation has its own id.
#[test]
fn parameters_are_where_they_are_sent_and_operation_ids_are_unique() {
    let doc = serde_json::to_value(quotidian::routers::openapi()).unwrap();
    let mut ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            let id = op["operationId"].as_str().expect("an operationId");
            assert!(
                ids.insert(id.to_owned()),
                "{name}: operationId {id} is used twice"
            );
            for param in op["parameters"].as_array().into_iter().flatten() {
                let pname = param["name"].as_str().unwrap();
                let in_path = path.contains(&format!("{{{pname}}}"));
                assert_eq!(
                    param["in"] == "path",
                    in_path,
                    "{name}: parameter {pname} is declared in {}",
                    param["in"]
                );
            }
        }
    }
}

fn response_is_html_page(op: &Value) -> bool {
    op["responses"]["200"]["content"].get("text/html").is_some()
}

/// Every problem kind the service answers with is in the document: listed by the
/// `ProblemKind` schema (the web page's types are generated from it) and named in the
/// API description, with nothing listed that the service does not have.
#[test]
fn every_problem_kind_is_in_the_document() {
    use quotidian::error::ProblemKind;
    use strum::VariantArray as _;
    let doc = serde_json::to_value(quotidian::routers::openapi()).unwrap();
    let listed: Vec<&str> = doc["components"]["schemas"]["ProblemKind"]["enum"]
        .as_array()
        .expect("a ProblemKind schema listing the slugs")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let kinds: Vec<&str> = ProblemKind::VARIANTS.iter().map(|k| k.as_str()).collect();
    assert_eq!(listed, kinds);
    let description = doc["info"]["description"].as_str().unwrap();
    for slug in kinds {
        assert!(
            description.contains(&format!("`{slug}`")),
            "the API description does not name `{slug}`"
        );
    }
    let type_doc = doc["components"]["schemas"]["Problem"]["properties"]["type"]["description"]
        .as_str()
        .unwrap();
    assert!(type_doc.contains("ProblemKind"), "{type_doc}");
}
