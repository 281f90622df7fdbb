//! The buyers' and shops' names the demo draws from (Spanish, with accents),
//! and the ASCII folding its e-mail addresses use.

pub(super) const FIRST_NAMES: &[&str] = &[
    "José",
    "María",
    "Sofía",
    "Andrés",
    "Julián",
    "Ángela",
    "Lucía",
    "Martín",
    "Camila",
    "Valentina",
    "Sebastián",
    "Mónica",
    "Iñaki",
    "Raúl",
    "Inés",
    "Óscar",
    "Nicolás",
    "Daniela",
    "Tomás",
    "Verónica",
];
pub(super) const LAST_NAMES: &[&str] = &[
    "Núñez",
    "Peña",
    "Muñoz",
    "Gómez",
    "Rodríguez",
    "Ibáñez",
    "Hernández",
    "Pérez",
    "Ramírez",
    "Córdoba",
    "Díaz",
    "Jiménez",
    "Fernández",
    "Álvarez",
    "Castañeda",
    "Zúñiga",
    "Londoño",
    "Quiñónez",
    "Cárdenas",
    "Salazar",
];
pub(super) const STORES: &[&str] =
    &["Tienda Ñandú, S.A.S.", "Moda Andina", "ElectroHogar \"Express\"", "Librería Cóndor"];

pub(super) fn ascii_fold(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'á' | 'Á' => 'a',
            'é' | 'É' => 'e',
            'í' | 'Í' => 'i',
            'ó' | 'Ó' => 'o',
            'ú' | 'Ú' => 'u',
            'ñ' | 'Ñ' => 'n',
            other => other.to_ascii_lowercase(),
        })
        .collect()
}
