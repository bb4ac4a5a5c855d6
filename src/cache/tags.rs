//! Cache kinds and the tags writes name. Each loader tag names exactly one cached value
//! family — a row by id or a child list by parent — so it maps to one key per kind without an
//! index: invalidating `line:7:equipment` drops the list of line 7's machines everywhere.
//! Whole responses ([`super::response`]) carry the tags of everything they were built from;
//! `workshops` names data only responses cache (the workshop rows and lists).

use std::fmt;

/// What a cached value is: one per loader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    EquipmentById,
    LineById,
    SensorById,
    EquipmentByLine,
    LinesByWorkshop,
    SensorsByEquipment,
}

impl Kind {
    /// Every kind with its own L1.
    pub const ALL: [Kind; 6] = [
        Kind::EquipmentById,
        Kind::LineById,
        Kind::SensorById,
        Kind::EquipmentByLine,
        Kind::LinesByWorkshop,
        Kind::SensorsByEquipment,
    ];

    /// The name in keys, metrics and `cacheStats`.
    pub fn name(self) -> &'static str {
        match self {
            Self::EquipmentById => "equipment_by_id",
            Self::LineById => "line_by_id",
            Self::SensorById => "sensor_by_id",
            Self::EquipmentByLine => "equipment_by_line",
            Self::LinesByWorkshop => "lines_by_workshop",
            Self::SensorsByEquipment => "sensors_by_equipment",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Self::EquipmentById => 0,
            Self::LineById => 1,
            Self::SensorById => 2,
            Self::EquipmentByLine => 3,
            Self::LinesByWorkshop => 4,
            Self::SensorsByEquipment => 5,
        }
    }

    /// Rows by id live in the entity tier, lists by parent in the relation tier.
    pub fn is_relation(self) -> bool {
        matches!(
            self,
            Self::EquipmentByLine | Self::LinesByWorkshop | Self::SensorsByEquipment
        )
    }
}

/// What a write dirties; `Display` gives the tag's text, [`Tag::parse`] reads it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tag {
    /// `equipment:{id}`: the machine's row.
    Equipment(i64),
    /// `line:{id}`: the line's row.
    Line(i64),
    /// `sensor:{id}`: the sensor's row.
    Sensor(i64),
    /// `line:{id}:equipment`: the line's machines.
    LineEquipment(i64),
    /// `workshop:{id}:lines`: the workshop's lines.
    WorkshopLines(i64),
    /// `equipment:{id}:sensors`: the machine's sensors.
    EquipmentSensors(i64),
    /// `workshops`: any workshop row or list (no loader caches them; responses do).
    Workshops,
}

impl Tag {
    /// The loader value the tag names (`None`: the tag only names cached responses).
    pub fn key(self) -> Option<(Kind, i64)> {
        Some(match self {
            Self::Equipment(id) => (Kind::EquipmentById, id),
            Self::Line(id) => (Kind::LineById, id),
            Self::Sensor(id) => (Kind::SensorById, id),
            Self::LineEquipment(id) => (Kind::EquipmentByLine, id),
            Self::WorkshopLines(id) => (Kind::LinesByWorkshop, id),
            Self::EquipmentSensors(id) => (Kind::SensorsByEquipment, id),
            Self::Workshops => return None,
        })
    }

    /// The tag of a loader value: the inverse of [`Self::key`].
    pub fn of(kind: Kind, id: i64) -> Self {
        match kind {
            Kind::EquipmentById => Self::Equipment(id),
            Kind::LineById => Self::Line(id),
            Kind::SensorById => Self::Sensor(id),
            Kind::EquipmentByLine => Self::LineEquipment(id),
            Kind::LinesByWorkshop => Self::WorkshopLines(id),
            Kind::SensorsByEquipment => Self::EquipmentSensors(id),
        }
    }

    /// Reads a tag's text (`equipment:42`, `line:7:equipment`, `workshops`, …).
    pub fn parse(text: &str) -> Option<Self> {
        if text == "workshops" {
            return Some(Self::Workshops);
        }
        let mut parts = text.split(':');
        let (entity, id, relation) = (parts.next()?, parts.next()?, parts.next());
        if parts.next().is_some() {
            return None;
        }
        let id: i64 = id.parse().ok().filter(|id| *id > 0)?;
        Some(match (entity, relation) {
            ("equipment", None) => Self::Equipment(id),
            ("line", None) => Self::Line(id),
            ("sensor", None) => Self::Sensor(id),
            ("line", Some("equipment")) => Self::LineEquipment(id),
            ("workshop", Some("lines")) => Self::WorkshopLines(id),
            ("equipment", Some("sensors")) => Self::EquipmentSensors(id),
            _ => return None,
        })
    }

    /// What a change to a machine's row dirties: the row and its line's list.
    pub fn equipment_row(equipment: &entity::equipment::Model) -> [Tag; 2] {
        [
            Tag::Equipment(equipment.id),
            Tag::LineEquipment(equipment.line_id),
        ]
    }

    /// What a change to a line's row dirties: the row and its workshop's list.
    pub fn line_row(line: &entity::production_line::Model) -> [Tag; 2] {
        [Tag::Line(line.id), Tag::WorkshopLines(line.workshop_id)]
    }

    /// What a change to a sensor's row dirties: the row and its machine's list.
    pub fn sensor_row(sensor: &entity::sensor::Model) -> [Tag; 2] {
        [
            Tag::Sensor(sensor.id),
            Tag::EquipmentSensors(sensor.equipment_id),
        ]
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Equipment(id) => write!(f, "equipment:{id}"),
            Self::Line(id) => write!(f, "line:{id}"),
            Self::Sensor(id) => write!(f, "sensor:{id}"),
            Self::LineEquipment(id) => write!(f, "line:{id}:equipment"),
            Self::WorkshopLines(id) => write!(f, "workshop:{id}:lines"),
            Self::EquipmentSensors(id) => write!(f, "equipment:{id}:sensors"),
            Self::Workshops => f.write_str("workshops"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_through_their_text() {
        for tag in [
            Tag::Equipment(42),
            Tag::Line(7),
            Tag::Sensor(1),
            Tag::LineEquipment(7),
            Tag::WorkshopLines(3),
            Tag::EquipmentSensors(42),
            Tag::Workshops,
        ] {
            assert_eq!(Tag::parse(&tag.to_string()), Some(tag));
            if let Some((kind, id)) = tag.key() {
                assert_eq!(Tag::of(kind, id), tag);
            }
        }
        for bad in [
            "",
            "equipment",
            "equipment:x",
            "equipment:-1",
            "line:7:alarms",
            "a:1:b:c",
        ] {
            assert_eq!(Tag::parse(bad), None, "{bad}");
        }
    }
}
