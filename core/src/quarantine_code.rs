//! A quarantine as a record stores it: two bytes, zero for none.
//!
//! `Option<Quarantine>` puts `None` in a niche of the problem's tag, a non-zero byte, and
//! one non-zero byte in an empty record puts a whole `static` of them in `.data`: a
//! firmware image then carries megabytes of empty records in its file. This code is zero
//! for "not quarantined" by construction, like every other field of an empty record.

use crate::quarantine::{NodeField, Quarantine, QuarantineProblem};
use crate::safety::UnsafeValue;

/// Every [`NodeField`], in declaration order (its discriminant is its index).
const FIELDS: [NodeField; 24] = [
    NodeField::Uuid,
    NodeField::Driver,
    NodeField::ProvisionState,
    NodeField::DeployInterface,
    NodeField::BootMode,
    NodeField::BootInterface,
    NodeField::CpuArch,
    NodeField::PropertiesCapabilities,
    NodeField::InstanceCapabilities,
    NodeField::InstanceDeployBootMode,
    NodeField::RamdiskKernelArguments,
    NodeField::BootIso,
    NodeField::InternalDeployBootMode,
    NodeField::DeployKernel,
    NodeField::DeployRamdisk,
    NodeField::RescueKernel,
    NodeField::RescueRamdisk,
    NodeField::DeployAppend,
    NodeField::InstanceKernel,
    NodeField::InstanceRamdisk,
    NodeField::InstanceAppend,
    NodeField::ImageType,
    NodeField::WholeDiskImage,
    NodeField::Script,
];

/// Every [`UnsafeValue`], in declaration order.
const UNSAFE: [UnsafeValue; 10] = [
    UnsafeValue::LineBreak,
    UnsafeValue::Nul,
    UnsafeValue::ControlCharacter,
    UnsafeValue::SettingExpansion,
    UnsafeValue::CommandSeparator,
    UnsafeValue::Comment,
    UnsafeValue::Quoting,
    UnsafeValue::Whitespace,
    UnsafeValue::OptionLike,
    UnsafeValue::Empty,
];

/// `(field + 1) << 8 | problem`, or 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QuarantineCode(u16);

impl QuarantineCode {
    /// Not quarantined.
    pub(crate) const NONE: QuarantineCode = QuarantineCode(0);

    pub(crate) fn of(quarantine: Quarantine) -> Self {
        // A match, not a table, so a new problem cannot be left without a code.
        let problem: u16 = match quarantine.problem {
            QuarantineProblem::Unsafe(reason) => reason as u16,
            QuarantineProblem::Missing => 16,
            QuarantineProblem::InvalidValue => 17,
            QuarantineProblem::TooLong => 18,
            QuarantineProblem::TooManyWords => 19,
            QuarantineProblem::LineTooLong => 20,
            QuarantineProblem::ScriptTooLarge => 21,
        };
        QuarantineCode((u16::from(quarantine.field as u8) + 1) << 8 | problem)
    }

    pub(crate) fn get(self) -> Option<Quarantine> {
        let field = *FIELDS.get(usize::from(self.0 >> 8).checked_sub(1)?)?;
        let problem = match self.0 & 0xff {
            16 => QuarantineProblem::Missing,
            17 => QuarantineProblem::InvalidValue,
            18 => QuarantineProblem::TooLong,
            19 => QuarantineProblem::TooManyWords,
            20 => QuarantineProblem::LineTooLong,
            21 => QuarantineProblem::ScriptTooLarge,
            reason => QuarantineProblem::Unsafe(*UNSAFE.get(usize::from(reason))?),
        };
        Some(Quarantine { field, problem })
    }

    pub(crate) fn is_some(self) -> bool {
        self != Self::NONE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_follow_the_declarations() {
        // `Script` and `Empty` are the last variants: a new one must join the table.
        assert_eq!(FIELDS.len(), NodeField::Script as usize + 1);
        assert_eq!(UNSAFE.len(), UnsafeValue::Empty as usize + 1);
        for (index, field) in FIELDS.iter().enumerate() {
            assert_eq!(*field as usize, index);
        }
        for (index, reason) in UNSAFE.iter().enumerate() {
            assert_eq!(*reason as usize, index);
        }
    }

    #[test]
    fn every_quarantine_comes_back() {
        let others = [
            QuarantineProblem::Missing,
            QuarantineProblem::InvalidValue,
            QuarantineProblem::TooLong,
            QuarantineProblem::TooManyWords,
            QuarantineProblem::LineTooLong,
            QuarantineProblem::ScriptTooLarge,
        ];
        let problems = UNSAFE.iter().map(|r| QuarantineProblem::Unsafe(*r)).chain(others);
        for problem in problems {
            for field in FIELDS {
                let quarantine = Quarantine { field, problem };
                let code = QuarantineCode::of(quarantine);
                assert!(code.is_some());
                assert_eq!(code.get(), Some(quarantine));
            }
        }
        assert_eq!(QuarantineCode::NONE.get(), None);
    }
}
