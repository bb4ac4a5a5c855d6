//! The plant's operations, shared by the `plant_*` test files: selections, mutations, point
//! queries and lists, and the ids of the seeded SMALL plant.

use serde_json::{Value, json};

use crate::{
    bad_input::{id_of, nodes, op, strings},
    helpers::TestApp,
};

const WORKSHOP: &str = "id code name description createdAt site { code }";
const LINE: &str = "id code name status bottleneckEquipmentId workshop { id code }";
const EQUIPMENT: &str = "id code name kind model serialNo idealCycleTimeS status statusSince \
    attributes lineId workshopId line { id code } workshop { id code }";
const SENSOR: &str = "id tag name metric unit sampleIntervalMs loLo lo hi hiHi deadband active \
    equipmentId equipment { id code }";

pub(crate) fn create_workshop() -> String {
    op(
        "createWorkshop",
        "CreateWorkshopInput",
        &format!("workshop {{ {WORKSHOP} }}"),
    )
}
pub(crate) fn update_workshop() -> String {
    op(
        "updateWorkshop",
        "UpdateWorkshopInput",
        &format!("workshop {{ {WORKSHOP} }}"),
    )
}
pub(crate) fn create_line() -> String {
    op(
        "createLine",
        "CreateLineInput",
        &format!("line {{ {LINE} }}"),
    )
}
pub(crate) fn update_line() -> String {
    op(
        "updateLine",
        "UpdateLineInput",
        &format!("line {{ {LINE} }}"),
    )
}
pub(crate) fn create_equipment() -> String {
    op(
        "createEquipment",
        "CreateEquipmentInput",
        &format!("equipment {{ {EQUIPMENT} }}"),
    )
}
pub(crate) fn update_equipment() -> String {
    op(
        "updateEquipment",
        "UpdateEquipmentInput",
        &format!("equipment {{ {EQUIPMENT} }}"),
    )
}
pub(crate) fn create_sensor() -> String {
    op(
        "createSensor",
        "CreateSensorInput",
        &format!("sensor {{ {SENSOR} }}"),
    )
}
pub(crate) fn update_sensor() -> String {
    op(
        "updateSensor",
        "UpdateSensorInput",
        &format!("sensor {{ {SENSOR} }}"),
    )
}
pub(crate) fn delete(field: &str) -> String {
    op(field, "DeleteInput", "deletedId")
}

pub(crate) const WORKSHOP_BY_ID: &str = "query($id: ID!) { workshopById(id: $id) { id code name \
    description createdAt site { id code name timezone } lines { id code equipment { code } } } }";
pub(crate) const LINE_BY_ID: &str = "query($id: ID!) { lineById(id: $id) { id code name status \
    bottleneckEquipmentId workshop { id code } equipment { id code } } }";
pub(crate) const EQUIPMENT_BY_ID: &str = "query($id: ID!) { equipmentById(id: $id) { id code name kind \
    model serialNo idealCycleTimeS status statusSince attributes lineId workshopId \
    line { id code } workshop { id code } sensors { id tag } } }";
pub(crate) const SENSOR_BY_ID: &str = "query($id: ID!) { sensorById(id: $id) { id tag name metric unit \
    sampleIntervalMs loLo lo hi hiHi deadband active equipmentId \
    equipment { id code line { code } } } }";

pub(crate) async fn by_id(app: &TestApp, query: &str, id: &str) -> Value {
    let response = app.graphql(query, json!({ "id": id })).await;
    let data = response.data();
    data.as_object()
        .and_then(|o| o.values().next())
        .expect("one field")
        .clone()
}

pub(crate) async fn list(app: &TestApp, query: &str, variables: Value) -> Vec<Value> {
    let response = app.graphql(query, variables).await;
    let data = response.data();
    nodes(
        data.as_object()
            .and_then(|o| o.values().next())
            .expect("one field"),
    )
}

pub(crate) const WORKSHOPS: &str = "query($filter: WorkshopFilter) { workshops(filter: $filter, first: 100) \
    { totalCount edges { node { id code name description site { code } lines { code } } } } }";
pub(crate) const LINES: &str = "query($filter: LineFilter) { lines(filter: $filter, first: 100) \
    { totalCount edges { node { id code name status workshop { code } equipment { code } } } } }";
pub(crate) const EQUIPMENT_LIST: &str = "query($filter: EquipmentFilter, $order: EquipmentOrder) \
    { equipment(filter: $filter, orderBy: $order, first: 100) { totalCount edges { node \
    { id code name kind model status statusSince line { code } workshop { code } } } } }";
pub(crate) const SENSORS: &str = "query($filter: SensorFilter) { sensors(filter: $filter, first: 100) \
    { totalCount edges { node { id tag name metric active equipment { code line { code } } } } } }";

pub(crate) async fn codes(app: &TestApp, query: &str, filter: Value, field: &str) -> Vec<String> {
    strings(&list(app, query, json!({ "filter": filter })).await, field)
}

/// Ids of the seeded SMALL plant.
pub(crate) struct Small {
    pub(crate) workshop: String,
    pub(crate) line: String,
    /// WS-01-L1-M01, WS-01-L1-M02.
    pub(crate) machines: [String; 2],
    /// WS-01-L1-M01.TEMPERATURE.
    pub(crate) sensor: String,
}

pub(crate) async fn small_ids(app: &TestApp) -> Small {
    let machines = list(app, EQUIPMENT_LIST, json!({})).await;
    Small {
        workshop: app.first_id("workshops").await,
        line: app.first_id("lines").await,
        machines: [id_of(&machines[0]), id_of(&machines[1])],
        sensor: app.first_id("sensors").await,
    }
}

pub(crate) fn equipment_input(line: &str, code: &str) -> Value {
    json!({ "lineId": line, "code": code, "name": "Test machine", "kind": "ROBOT" })
}

pub(crate) fn sensor_input(equipment: &str, tag: &str) -> Value {
    json!({ "equipmentId": equipment, "tag": tag, "name": "Test sensor", "metric": "PRESSURE",
            "unit": "bar", "sampleIntervalMs": 1000 })
}
