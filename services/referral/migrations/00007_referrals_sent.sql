-- +goose Up
-- Whether a referral was ever sent. The recipient is a party to a referral from its sending on:
-- a draft cancelled before it was sent stays the referrer's alone, in answers, lists and feeds,
-- as the draft was. Its status (CANCELLED) does not say so; its history does.
ALTER TABLE referrals ADD COLUMN sent boolean NOT NULL DEFAULT false;

-- +goose StatementBegin
-- A status past DRAFT, other than CANCELLED, means the referral was sent. During a rolling
-- update the previous release's pods still write referrals without this column: the trigger
-- marks what they send, so the recipient sees it. (The current code sets the column itself;
-- the trigger may go in a later release, once no pod of the previous one runs.)
CREATE FUNCTION referrals_mark_sent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status NOT IN ('DRAFT', 'CANCELLED') THEN
        NEW.sent := true;
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER referrals_mark_sent BEFORE INSERT OR UPDATE OF status ON referrals
    FOR EACH ROW EXECUTE FUNCTION referrals_mark_sent();

UPDATE referrals r SET sent = true
WHERE EXISTS (SELECT 1 FROM referral_transitions t WHERE t.referral_id = r.id AND t.to_status = 'SENT');

-- +goose Down
DROP TRIGGER referrals_mark_sent ON referrals;
DROP FUNCTION referrals_mark_sent();
ALTER TABLE referrals DROP COLUMN sent;
