-- id: ind03_justice_attrition
-- title.en: Criminal-justice attrition: family-violence cases and gender-based-violence offences, stage by stage
-- title.ru: Отсев уголовных дел: дела о семейном насилии и преступления ГОН, по стадиям
-- title.ky: Кылмыш иштеринин азаюусу: үй-бүлөлүк зомбулук боюнча иштер жана ГЗЗ кылмыштары, баскычтар боюнча
-- unit.en: cases and persons; ratios; percent
-- unit.ru: дела и лица; коэффициенты; процент
-- unit.ky: иштер жана адамдар; коэффициенттер; пайыз
-- sources: MOI-FV, MOI-GBV, MOI-TIP, GPO-CASES, JD-CASES
-- notes.en: Each chain counts one set of offences at every stage. FV: family-violence criminal cases (MoI form on family violence); prosecutors and courts do not report family-violence cases apart, so that chain stops at the cases MoI sent to the prosecutor. GBV: the gender-based-violence and trafficking offences that MoI, prosecutors and courts all report (homicide of a woman or girl, grave and less grave harm, rape and sexual assault, forced and early marriage, trafficking); harassment (MoI only) and other offences in the family (prosecutors and courts only) are left out. Row RAP: rape and sexual assault together (ICCS 0301). Persons convicted are persons, the other stages cases; cases move between years with the proceedings, so ratios are indicative.
-- notes.ru: Каждая цепочка на всех стадиях считает один и тот же набор преступлений. FV: уголовные дела о семейном насилии (форма МВД о семейном насилии); прокуратура и суды не выделяют дела о семейном насилии, поэтому цепочка заканчивается делами, направленными МВД прокурору. GBV: преступления ГОН и торговля людьми, о которых отчитываются и МВД, и прокуратура, и суды (убийство женщины или девочки, тяжкий и менее тяжкий вред здоровью, изнасилование и насильственные действия сексуального характера, принудительный и ранний брак, торговля людьми); преследование (только МВД) и прочие преступления в семье (только прокуратура и суды) не включены. Строка RAP: изнасилование и насильственные действия сексуального характера вместе (МКПС 0301). Осуждённые учитываются как лица, остальные стадии как дела; дела переходят между годами, поэтому коэффициенты ориентировочны.
-- notes.ky: Ар бир чынжыр бардык баскычтарда кылмыштардын бир эле топтомун эсептейт. FV: үй-бүлөлүк зомбулук боюнча кылмыш иштери (ИИМдин үй-бүлөлүк зомбулук боюнча формасы); прокуратура жана соттор үй-бүлөлүк зомбулук иштерин өзүнчө көрсөтпөйт, ошондуктан бул чынжыр ИИМ прокурорго жөнөткөн иштер менен бүтөт. GBV: ИИМ да, прокуратура да, соттор да отчет берген ГЗЗ кылмыштары жана адам сатуу (аялды же кызды өлтүрүү, ден соолукка оор жана анча оор эмес зыян, зордуктоо жана сексуалдык мүнөздөгү зордук-зомбулук, мажбурлап жана эрте никелөө, адам сатуу); куугунтуктоо (ИИМ гана) жана үй-бүлөдөгү башка кылмыштар (прокуратура жана соттор гана) кирбейт. RAP сабы: зордуктоо жана сексуалдык мүнөздөгү зордук-зомбулук бирге (КСЭК 0301). Соттолгондор адам катары, калган баскычтар иш катары эсептелет; иштер жылдар аралык өтөт, ошондуктан коэффициенттер болжолдуу.
-- counts: opened, to_prosecutor, gpo_received, gpo_to_court, gpo_terminated, gpo_terminated_reconciliation, gpo_terminated_other, gpo_persons_charged, jd_received, jd_persons_convicted
-- rates: to_prosecutor_per_opened = to_prosecutor / opened; to_court_per_opened = gpo_to_court / opened; convicted_per_to_court = jd_persons_convicted / gpo_to_court; reconciliation_share_pct = gpo_terminated_reconciliation / gpo_terminated * 100
-- sums: gpo_terminated = gpo_terminated_reconciliation + gpo_terminated_other
-- codes.chain: {FV: {en: "Family-violence cases (MoI)", ru: "Дела о семейном насилии (МВД)", ky: "Үй-бүлөлүк зомбулук боюнча иштер (ИИМ)"}, GBV: {en: "GBV and trafficking offences (MoI, prosecutors, courts)", ru: "Преступления ГОН и торговля людьми (МВД, прокуратура, суды)", ky: "ГЗЗ кылмыштары жана адам сатуу (ИИМ, прокуратура, соттор)"}}
-- col.chain: {en: Chain, ru: Цепочка, ky: Чынжыр}
-- col.opened: {en: "Cases opened (MoI)", ru: "Возбуждено дел (МВД)", ky: "Козголгон иштер (ИИМ)"}
-- col.to_prosecutor: {en: "Sent to the prosecutor (MoI)", ru: "Направлено прокурору (МВД)", ky: "Прокурорго жөнөтүлгөн (ИИМ)"}
-- col.gpo_received: {en: "Received by prosecutors", ru: "Поступило в прокуратуру", ky: "Прокуратурага түшкөн"}
-- col.gpo_to_court: {en: "Sent to court with indictment", ru: "Направлено в суд с обвинительным заключением", ky: "Айыптоо корутундусу менен сотко жөнөтүлгөн"}
-- col.gpo_terminated: {en: "Terminated by prosecutors", ru: "Прекращено прокуратурой", ky: "Прокуратура токтоткон"}
-- col.gpo_terminated_reconciliation: {en: "of which by reconciliation of the parties", ru: "из них за примирением сторон", ky: "анын ичинде тараптардын элдешүүсү менен"}
-- col.gpo_terminated_other: {en: "of which on other grounds", ru: "из них по другим основаниям", ky: "анын ичинде башка негиздер боюнча"}
-- col.gpo_persons_charged: {en: "Persons charged", ru: "Привлечено лиц", ky: "Жоопкерчиликке тартылган адамдар"}
-- col.jd_received: {en: "Cases received by courts", ru: "Поступило дел в суды", ky: "Сотторго түшкөн иштер"}
-- col.jd_persons_convicted: {en: "Persons convicted", ru: "Осуждено лиц", ky: "Соттолгон адамдар"}
-- col.to_prosecutor_per_opened: {en: "Sent to the prosecutor per case opened", ru: "Направлено прокурору на одно возбуждённое дело", ky: "Бир козголгон ишке прокурорго жөнөтүлгөндөр"}
-- col.to_court_per_opened: {en: "Sent to court per case opened", ru: "Направлено в суд на одно возбуждённое дело", ky: "Бир козголгон ишке сотко жөнөтүлгөндөр"}
-- col.convicted_per_to_court: {en: "Persons convicted per case sent to court", ru: "Осуждённых на одно дело, направленное в суд", ky: "Сотко жөнөтүлгөн бир ишке соттолгондор"}
-- col.reconciliation_share_pct: {en: "Terminated by reconciliation, % of terminated", ru: "Прекращено за примирением, % от прекращённых", ky: "Элдешүү менен токтотулган, токтотулгандардын %"}
WITH f AS (SELECT * FROM series_facts WHERE year = getvariable('year')),
fv AS (  -- MoI's family-violence criminal cases: line 01 (total, reported since 2015) and its parts
    SELECT oblast, area, offence,
           sum(value) FILTER (WHERE stage = 'OPENED') AS opened,
           sum(value) FILTER (WHERE stage = 'TO_PROSECUTOR') AS to_prosecutor
    FROM f
    WHERE form = 'MOI-FV' AND tbl = 'T5'
    GROUP BY GROUPING SETS ((oblast, area, offence), (offence))
),
gbv_cells AS (  -- the offence groups every agency reports; MoI's sexual assault joins rape
    SELECT oblast, area, form, tbl, stage, sex, value,
           CASE WHEN offence = 'SXA' THEN 'RAP' ELSE offence END AS offence
    FROM f
    WHERE offence IN ('HOM', 'SAS', 'MAS', 'RAP', 'SXA', 'FMA', 'EMA', 'TIP')
      AND ((form = 'MOI-GBV' AND tbl = 'T1')
        OR (form = 'MOI-TIP' AND tbl = 'T1' AND exploitation = '_T')
        OR (form IN ('GPO-CASES', 'JD-CASES') AND tbl IN ('T1', 'T2')))
),
gbv AS (
    SELECT oblast, area, offence,
           sum(value) FILTER (WHERE form IN ('MOI-GBV', 'MOI-TIP') AND stage = 'OPENED') AS opened,
           sum(value) FILTER (WHERE form = 'GPO-CASES' AND tbl = 'T1' AND stage = 'RECEIVED') AS gpo_received,
           sum(value) FILTER (WHERE form = 'GPO-CASES' AND tbl = 'T1' AND stage = 'TO_COURT') AS gpo_to_court,
           sum(value) FILTER (WHERE form = 'GPO-CASES' AND tbl = 'T1' AND stage = 'TERMINATED') AS gpo_terminated,
           sum(value) FILTER (WHERE form = 'GPO-CASES' AND tbl = 'T1' AND stage = 'TERM_RECONC') AS gpo_terminated_reconciliation,
           sum(value) FILTER (WHERE form = 'GPO-CASES' AND tbl = 'T2' AND stage = 'CHARGED' AND sex = '_T') AS gpo_persons_charged,
           sum(value) FILTER (WHERE form = 'JD-CASES' AND tbl = 'T1' AND stage = 'RECEIVED') AS jd_received,
           sum(value) FILTER (WHERE form = 'JD-CASES' AND tbl = 'T2' AND stage = 'CONVICTED' AND sex = '_T') AS jd_persons_convicted
    FROM gbv_cells
    GROUP BY GROUPING SETS ((oblast, area, offence), (oblast, area), (offence), ())
),
chains AS (
    SELECT 'FV' AS chain, * FROM fv
    UNION ALL BY NAME
    SELECT 'GBV' AS chain, * FROM gbv
)
SELECT getvariable('year') AS year,
       COALESCE(oblast, '41700000000000') AS territory, COALESCE(area, 'KG') AS area,
       chain, COALESCE(offence, '_T') AS offence,
       opened, to_prosecutor, gpo_received, gpo_to_court, gpo_terminated,
       gpo_terminated_reconciliation, gpo_terminated - gpo_terminated_reconciliation AS gpo_terminated_other,
       gpo_persons_charged, jd_received, jd_persons_convicted,
       round(to_prosecutor / NULLIF(opened, 0), 2) AS to_prosecutor_per_opened,
       round(gpo_to_court / NULLIF(opened, 0), 2) AS to_court_per_opened,
       round(jd_persons_convicted / NULLIF(gpo_to_court, 0), 2) AS convicted_per_to_court,
       round(100.0 * gpo_terminated_reconciliation / NULLIF(gpo_terminated, 0), 1) AS reconciliation_share_pct
FROM chains
WHERE COALESCE(opened, to_prosecutor, gpo_received, gpo_to_court, gpo_persons_charged, jd_received,
               jd_persons_convicted) IS NOT NULL  -- a chain no form of the year reports: no row
ORDER BY area = 'KG' DESC, area, chain, offence <> '_T', offence
