//! The OpenAPI document as served and committed: what utoipa generates from the handlers and
//! wire types, completed with what its derives cannot say, so that a request valid by the
//! document is one the server accepts (ADR 0008).

use crate::routes::ApiDoc;
use serde_json::Value;
use std::sync::OnceLock;
use utoipa::OpenApi;

/// The document, built once per process.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut document = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serializes");
        let schemas = document
            .pointer_mut("/components/schemas")
            .and_then(Value::as_object_mut)
            .expect("the document has component schemas");
        for (name, constraint) in crate::wire::cross_field_schemas() {
            let schema = schemas.get_mut(name).and_then(Value::as_object_mut);
            let schema = schema.unwrap_or_else(|| panic!("cross-field rules name the unknown schema {name}"));
            let constraint = constraint.as_object().expect("a cross-field rule is a JSON object").clone();
            assert!(constraint.keys().all(|key| !schema.contains_key(key)), "{name} already has {constraint:?}");
            schema.extend(constraint);
        }
        let batch_branches = flattened_command_branches(schemas);
        schemas.insert("CommandRequest".into(), batch_branches);
        document
    })
}

/// `CommandRequest` (a batch's command) with each branch one object: utoipa writes a branch as
/// `allOf` of the kind's request (which forbids unknown fields) and an object holding `type`, and
/// no body satisfies both. Each branch becomes the kind's request with `type` added.
fn flattened_command_branches(schemas: &serde_json::Map<String, Value>) -> Value {
    let branches = schemas["CommandRequest"]["oneOf"].as_array().expect("CommandRequest is a oneOf");
    let flattened = branches.iter().map(|branch| {
        let parts = branch["allOf"].as_array().expect("a CommandRequest branch is an allOf");
        let reference = parts[0]["$ref"].as_str().expect("the first part refers to the kind's request");
        let name = reference.rsplit('/').next().expect("a reference has a name");
        let tag = &parts[1];
        let mut request = schemas[name].clone();
        let object = request.as_object_mut().expect("a request schema is an object");
        let properties = object["properties"].as_object_mut().expect("a request has properties");
        properties.insert("type".into(), tag["properties"]["type"].clone());
        let required = object["required"].as_array_mut().expect("a request has required fields");
        required.insert(0, Value::from("type"));
        object.insert("description".into(), branch["description"].clone());
        request
    });
    serde_json::json!({ "oneOf": flattened.collect::<Vec<_>>() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn funding_parts_are_bounded_as_the_handlers_bound_them() {
        for name in ["PayRequest", "AuthorizeRequest"] {
            for part in ["credit_minor", "balance_minor"] {
                let maximum = &document()["components"]["schemas"][name]["properties"][part]["maximum"];
                assert_eq!(maximum.as_u64(), Some(crate::wire::FUNDING_PART_MAX), "{name}.{part}");
            }
        }
    }

    #[test]
    fn every_batch_branch_is_one_object_naming_its_type() {
        let branches = document()["components"]["schemas"]["CommandRequest"]["oneOf"].as_array().unwrap();
        assert!(branches.len() > 20);
        for branch in branches {
            assert_eq!(branch["additionalProperties"], Value::Bool(false), "{branch}");
            assert!(branch["properties"]["type"]["enum"][0].is_string(), "{branch}");
            assert_eq!(branch["required"][0], "type");
            assert!(branch.get("allOf").is_none());
        }
    }
}
