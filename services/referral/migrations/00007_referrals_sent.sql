-- +goose Up
-- Whether a referral was ever sent. The recipient is a party to a referral from its sending on:
-- a draft cancelled before it was sent stays the referrer's alone, in answers, lists and feeds,
-- as the draft was. Its status (CANCELLED) does not say so; its history does.
ALTER TABLE referrals ADD COLUMN sent boolean NOT NULL DEFAULT false;
UPDATE referrals r SET sent = true
WHERE EXISTS (SELECT 1 FROM referral_transitions t WHERE t.referral_id = r.id AND t.to_status = 'SENT');

-- +goose Down
ALTER TABLE referrals DROP COLUMN sent;
