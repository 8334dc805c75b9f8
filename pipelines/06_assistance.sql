-- id: ind06_assistance
-- title.en: Assistance to victims and the correctional programme for perpetrators
-- title.ru: Помощь пострадавшим и коррекционная программа для лиц, совершивших насилие
-- title.ky: Жабырлануучуларга жардам жана зомбулук жасагандар үчүн түзөтүү программасы
-- unit.en: persons; ratio; percent
-- unit.ru: человек; коэффициент; процент
-- unit.ky: адам; коэффициент; пайыз
-- sources: MLSP-SP, MOI-TIP, MOI-FV
-- notes.en: Reported from 2019.
-- notes.ru: Учитывается с 2019 г.
-- notes.ky: 2019-жылдан бери эсепке алынат.
-- counts: tip_identified, tip_assisted, fv_victims_moi, fv_clients, service_psychological, service_legal, service_shelter, service_medical, programme_referred, programme_completed
-- rates: tip_assisted_per_identified = tip_assisted / tip_identified; fv_clients_per_victim = fv_clients / fv_victims_moi; programme_completion_pct = programme_completed / programme_referred * 100
SELECT getvariable('year') AS year,
       COALESCE(oblast, '41700000000000') AS territory, COALESCE(area, 'KG') AS area,
       sum(value) FILTER (WHERE element = 'tip_victims' AND sex = '_T') AS tip_identified,
       sum(value) FILTER (WHERE element = 'mlsp_tip_assisted' AND sex = '_T') AS tip_assisted,
       sum(value) FILTER (WHERE element = 'fv_victims' AND sex = '_T') AS fv_victims_moi,
       sum(value) FILTER (WHERE element = 'mlsp_fv_clients' AND sex = '_T') AS fv_clients,
       sum(value) FILTER (WHERE element = 'mlsp_fv_service_psy' AND sex = '_T') AS service_psychological,
       sum(value) FILTER (WHERE element = 'mlsp_fv_service_leg' AND sex = '_T') AS service_legal,
       sum(value) FILTER (WHERE element = 'mlsp_fv_service_shl' AND sex = '_T') AS service_shelter,
       sum(value) FILTER (WHERE element = 'mlsp_fv_service_med' AND sex = '_T') AS service_medical,
       sum(value) FILTER (WHERE element = 'cp_referred' AND sex = '_T') AS programme_referred,
       sum(value) FILTER (WHERE element = 'cp_completed' AND sex = '_T') AS programme_completed,
       round(tip_assisted / NULLIF(tip_identified, 0), 2) AS tip_assisted_per_identified,
       round(fv_clients / NULLIF(fv_victims_moi, 0), 2) AS fv_clients_per_victim,
       round(100.0 * programme_completed / NULLIF(programme_referred, 0), 1) AS programme_completion_pct
FROM series_facts
WHERE year = getvariable('year') AND form IN ('MLSP-SP', 'MOI-TIP', 'MOI-FV')
GROUP BY GROUPING SETS ((oblast, area), ())
ORDER BY area = 'KG' DESC, area
