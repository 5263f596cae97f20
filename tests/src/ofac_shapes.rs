//! The same OFAC entities written in each shape OFAC publishes: sdn.csv
//! with sdn_comments.csv (the remarks cut at OFAC's length, continued in
//! the comments), SDN.XML and SDN_ADVANCED.XML (with optional filler
//! parties without addresses, for a file of realistic size).

use riskgate::lists::REMARKS_CUT;
use std::fmt::Write;

/// One designated entity and its digital currency addresses.
#[derive(Debug, Clone)]
pub struct Entity {
    pub ent_num: u32,
    pub name: String,
    /// (currency code as OFAC writes it, address).
    pub addresses: Vec<(String, String)>,
}

const TAIL: &str = "Secondary sanctions risk: North Korea Sanctions Regulations, sections \
                    510.201 and 510.210; Organization Established Date 2014; Linked To: \
                    RECONNAISSANCE GENERAL BUREAU.";

fn csv_quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The remarks of an entity, uncut.
pub fn remarks(entity: &Entity) -> String {
    let mut items: Vec<String> = entity
        .addresses
        .iter()
        .enumerate()
        .map(|(i, (code, address))| {
            let alt = if i == 0 { "" } else { "alt. " };
            format!("{alt}Digital Currency Address - {code} {address}")
        })
        .collect();
    items.push(TAIL.to_string());
    items.join("; ")
}

/// (sdn.csv, sdn_comments.csv): CRLF, `-0- ` placeholders, a Ctrl-Z line
/// at the end of each; remarks longer than [`REMARKS_CUT`] characters cut
/// there and continued in the comments.
pub fn sdn_csv(entities: &[Entity]) -> (Vec<u8>, Vec<u8>) {
    let mut sdn = String::new();
    let mut comments = String::new();
    for e in entities {
        let full = remarks(e);
        let cut = full
            .char_indices()
            .nth(REMARKS_CUT)
            .map_or(full.len(), |(i, _)| i);
        let (head, tail) = full.split_at(cut);
        let _ = write!(
            sdn,
            "{},{},-0- ,\"CYBER2] [DPRK3\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,{}\r\n",
            e.ent_num,
            csv_quote(&e.name),
            csv_quote(head)
        );
        if !tail.is_empty() {
            let _ = write!(comments, "{},{}\r\n", e.ent_num, csv_quote(tail));
        }
    }
    sdn.push('\u{1a}');
    comments.push('\u{1a}');
    (sdn.into_bytes(), comments.into_bytes())
}

/// SDN.XML.
pub fn sdn_xml(entities: &[Entity]) -> Vec<u8> {
    let mut out = String::from(
        "<?xml version=\"1.0\" standalone=\"yes\"?>\r\n<sdnList \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns=\"https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/XML\">\r\n  \
         <publshInformation>\r\n    <Publish_Date>09/27/2024</Publish_Date>\r\n  \
         </publshInformation>\r\n",
    );
    let mut id = 90_000;
    for e in entities {
        let _ = write!(
            out,
            "  <sdnEntry>\r\n    <uid>{}</uid>\r\n    <lastName>{}</lastName>\r\n    \
             <sdnType>Entity</sdnType>\r\n    <programList>\r\n      \
             <program>CYBER2</program>\r\n    </programList>\r\n    <idList>\r\n",
            e.ent_num,
            xml_escape(&e.name)
        );
        for (code, address) in &e.addresses {
            id += 1;
            let _ = write!(
                out,
                "      <id>\r\n        <uid>{id}</uid>\r\n        <idType>Digital Currency \
                 Address - {code}</idType>\r\n        <idNumber>{}</idNumber>\r\n      \
                 </id>\r\n",
                xml_escape(address)
            );
        }
        out.push_str("    </idList>\r\n  </sdnEntry>\r\n");
    }
    out.push_str("</sdnList>\r\n");
    out.into_bytes()
}

/// SDN_ADVANCED.XML, with `filler` parties that have names, aliases and
/// features but no address (the bulk of the real file).
pub fn sdn_advanced_xml(entities: &[Entity], filler: usize) -> Vec<u8> {
    let mut codes: Vec<&str> = entities
        .iter()
        .flat_map(|e| e.addresses.iter().map(|(c, _)| c.as_str()))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    let type_id = |code: &str| 1000 + codes.iter().position(|c| *c == code).unwrap_or(0);
    let mut out = String::with_capacity(filler * 2600 + entities.len() * 4000);
    out.push_str(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Sanctions \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
         xmlns=\"https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADVANCED_XML\">\n  \
         <DateOfIssue>\n    <Year>2024</Year>\n    <Month>9</Month>\n    <Day>27</Day>\n  \
         </DateOfIssue>\n  <ReferenceValueSets>\n    <FeatureTypeValues>\n      \
         <FeatureType ID=\"5\" FeatureTypeGroupID=\"1\">Gender</FeatureType>\n      \
         <FeatureType ID=\"8\" FeatureTypeGroupID=\"1\">Birthdate</FeatureType>\n",
    );
    for code in &codes {
        let _ = writeln!(
            out,
            "      <FeatureType ID=\"{}\" FeatureTypeGroupID=\"1\">Digital Currency Address - \
             {code}</FeatureType>",
            type_id(code)
        );
    }
    out.push_str("    </FeatureTypeValues>\n  </ReferenceValueSets>\n  <DistinctParties>\n");
    let mut feature = 500_000u64;
    let mut party = |out: &mut String, fixed: u64, name: &str, features: &[(usize, &str)]| {
        let _ = write!(
            out,
            "    <DistinctParty FixedRef=\"{fixed}\">\n      <Comment />\n      <Profile \
             ID=\"{fixed}\" PartySubTypeID=\"3\">\n        <Identity ID=\"{fixed}\" \
             FixedRef=\"{fixed}\" Primary=\"true\" False=\"false\">\n"
        );
        for (alias, primary) in [(name.to_string(), true), (format!("{name} LTD"), false)] {
            let _ = write!(
                out,
                "          <Alias FixedRef=\"{fixed}\" AliasTypeID=\"1403\" Primary=\"{primary}\" \
                 LowQuality=\"false\">\n            <DocumentedName ID=\"{fixed}\" \
                 FixedRef=\"{fixed}\" DocNameStatusID=\"1\">\n              \
                 <DocumentedNamePart>\n                <NamePartValue \
                 NamePartGroupID=\"{fixed}\" ScriptID=\"215\" ScriptStatusID=\"1\" \
                 Acronym=\"false\">{}</NamePartValue>\n              </DocumentedNamePart>\n            \
                 </DocumentedName>\n          </Alias>\n",
                xml_escape(&alias)
            );
        }
        out.push_str("        </Identity>\n");
        for (type_id, detail) in features {
            feature += 1;
            let _ = write!(
                out,
                "        <Feature ID=\"{feature}\" FeatureTypeID=\"{type_id}\">\n          \
                 <FeatureVersion ID=\"{feature}\" ReliabilityID=\"1\">\n            <Comment />\n            \
                 <VersionDetail DetailTypeID=\"1432\">{}</VersionDetail>\n          \
                 </FeatureVersion>\n          <IdentityReference IdentityID=\"{feature}\" \
                 IdentityFeatureLinkTypeID=\"1\" />\n        </Feature>\n",
                xml_escape(detail)
            );
        }
        out.push_str("      </Profile>\n    </DistinctParty>\n");
    };
    for (i, e) in entities.iter().enumerate() {
        let features: Vec<(usize, &str)> = std::iter::once((5, "Male"))
            .chain(
                e.addresses
                    .iter()
                    .map(|(code, address)| (type_id(code), address.as_str())),
            )
            .collect();
        party(&mut out, u64::from(e.ent_num), &e.name, &features);
        // Filler parties spread between the designated ones.
        let share =
            filler / entities.len().max(1) + usize::from(i < filler % entities.len().max(1));
        for j in 0..share {
            let fixed = 10_000_000 + (i * 100_000 + j) as u64;
            let name = format!("FILLER TRADING COMPANY {fixed}");
            party(
                &mut out,
                fixed,
                &name,
                &[(5, "Female"), (8, "1970"), (5, "Male"), (8, "1971")],
            );
        }
    }
    out.push_str("  </DistinctParties>\n</Sanctions>\n");
    out.into_bytes()
}
