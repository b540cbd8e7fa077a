-- +goose Up
-- Issue 10: one vocabulary. The API takes VolumeUnit/VolumeFrequency enums and the service
-- stores their iJw/iWmo codes (WJ756 unit, WJ757 frequency); volumes stored before with
-- case-direction's words get their codes. Unknown values are left as they are (the API shows
-- them as unspecified with the stored code).
UPDATE allocations SET volume_unit = CASE volume_unit WHEN 'MINUTE' THEN '01' WHEN 'HOUR' THEN '04' WHEN 'DAY_AND_NIGHT' THEN '14'
    WHEN 'DAYPART' THEN '16' WHEN 'PIECE' THEN '82' WHEN 'EURO' THEN '83' ELSE volume_unit END,
    volume_frequency = CASE volume_frequency WHEN 'DAY' THEN '1' WHEN 'WEEK' THEN '2' WHEN 'MONTH' THEN '4' WHEN 'TOTAL' THEN '6' ELSE volume_frequency END;
UPDATE allocation_versions SET volume_unit = CASE volume_unit WHEN 'MINUTE' THEN '01' WHEN 'HOUR' THEN '04' WHEN 'DAY_AND_NIGHT' THEN '14'
    WHEN 'DAYPART' THEN '16' WHEN 'PIECE' THEN '82' WHEN 'EURO' THEN '83' ELSE volume_unit END,
    volume_frequency = CASE volume_frequency WHEN 'DAY' THEN '1' WHEN 'WEEK' THEN '2' WHEN 'MONTH' THEN '4' WHEN 'TOTAL' THEN '6' ELSE volume_frequency END;
UPDATE allocation_requests SET volume_unit = CASE volume_unit WHEN 'MINUTE' THEN '01' WHEN 'HOUR' THEN '04' WHEN 'DAY_AND_NIGHT' THEN '14'
    WHEN 'DAYPART' THEN '16' WHEN 'PIECE' THEN '82' WHEN 'EURO' THEN '83' ELSE volume_unit END,
    volume_frequency = CASE volume_frequency WHEN 'DAY' THEN '1' WHEN 'WEEK' THEN '2' WHEN 'MONTH' THEN '4' WHEN 'TOTAL' THEN '6' ELSE volume_frequency END;
UPDATE delivered_volumes SET unit = CASE unit WHEN 'MINUTE' THEN '01' WHEN 'HOUR' THEN '04' WHEN 'DAY_AND_NIGHT' THEN '14'
    WHEN 'DAYPART' THEN '16' WHEN 'PIECE' THEN '82' WHEN 'EURO' THEN '83' ELSE unit END;

-- +goose Down
SELECT 1;
