-- id: ind04_art70
-- title.en: Family violence as an administrative offence (Code of Offences, Art. 70)
-- title.ru: Семейное насилие как правонарушение (Кодекс о правонарушениях, ст. 70)
-- title.ky: Үй-бүлөлүк зомбулук укук бузуу катары (Укук бузуулар жөнүндө кодекс, 70-берене)
-- unit.en: number
-- unit.ru: число
-- unit.ky: саны
-- sources: MOI-FV, JD-CASES
-- notes.en: Reported from 2019.
-- notes.ru: Учитывается с 2019 г.
-- notes.ky: 2019-жылдан бери эсепке алынат.
-- counts: protocols, sent_to_court, heard, sanctioned, community_service, arrest, fine
-- sums: sanctioned = community_service + arrest + fine
-- col.protocols: {en: "Protocols drawn up", ru: "Составлено протоколов", ky: "Түзүлгөн протоколдор"}
-- col.sent_to_court: {en: "Protocols sent to court", ru: "Направлено протоколов в суд", ky: "Сотко жөнөтүлгөн протоколдор"}
-- col.heard: {en: "Cases heard by courts", ru: "Рассмотрено дел судами", ky: "Соттор караган иштер"}
-- col.sanctioned: {en: "Sanctions imposed", ru: "Назначено взысканий", ky: "Дайындалган жазалар"}
-- col.community_service: {en: "Community service", ru: "Общественные работы", ky: "Коомдук жумуштар"}
-- col.arrest: {en: "Arrest", ru: "Арест", ky: "Камак"}
-- col.fine: {en: "Fine", ru: "Штраф", ky: "Айып пул"}
SELECT getvariable('year') AS year,
       COALESCE(oblast, '41700000000000') AS territory, COALESCE(area, 'KG') AS area,
       sum(value) FILTER (WHERE element = 'art70_protocols') AS protocols,
       sum(value) FILTER (WHERE element = 'art70_to_court') AS sent_to_court,
       sum(value) FILTER (WHERE element = 'art70_heard') AS heard,
       sum(value) FILTER (WHERE element = 'art70_sanctioned') AS sanctioned,
       sum(value) FILTER (WHERE element = 'art70_csv') AS community_service,
       sum(value) FILTER (WHERE element = 'art70_arrest') AS arrest,
       sum(value) FILTER (WHERE element = 'art70_fine') AS fine
FROM series_facts
WHERE year = getvariable('year') AND form IN ('MOI-FV', 'JD-CASES')
GROUP BY GROUPING SETS ((oblast, area), ())
ORDER BY area = 'KG' DESC, area
