-- The schema of Xiaobao's release 04e2da0 (postgresql), as its create_all made it: the DDL of its
-- table modules compiled for this dialect (tests/migrations: a database of that release is upgraded).
CREATE TABLE applications (
	id VARCHAR(40) NOT NULL,
	item VARCHAR(200) NOT NULL,
	item_id VARCHAR(40),
	form_data JSON,
	applicant_ref VARCHAR(64) NOT NULL,
	status VARCHAR(40) NOT NULL,
	next_step VARCHAR(200),
	timeline JSON NOT NULL,
	promised_date DATE,
	sample BOOLEAN NOT NULL,
	PRIMARY KEY (id)
);

CREATE INDEX ix_applications_applicant_ref ON applications (applicant_ref);

CREATE TABLE audit_log (
	id SERIAL NOT NULL,
	at TIMESTAMP WITH TIME ZONE NOT NULL,
	actor VARCHAR(64) NOT NULL,
	action VARCHAR(40) NOT NULL,
	object_type VARCHAR(20) NOT NULL,
	object_id VARCHAR(64) NOT NULL,
	detail JSON NOT NULL,
	PRIMARY KEY (id)
);

CREATE INDEX ix_audit_log_action ON audit_log (action);
CREATE INDEX ix_audit_log_actor ON audit_log (actor);
CREATE INDEX ix_audit_log_at ON audit_log (at);
CREATE INDEX ix_audit_log_object_id ON audit_log (object_id);

CREATE TABLE chat_sessions (
	id VARCHAR(36) NOT NULL,
	user_ref VARCHAR(64),
	identity VARCHAR(20),
	channel VARCHAR(20) NOT NULL,
	status VARCHAR(20) NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (id)
);

CREATE INDEX ix_chat_sessions_status ON chat_sessions (status);
CREATE INDEX ix_chat_sessions_user_ref ON chat_sessions (user_ref);

CREATE TABLE credential_uses (
	credential VARCHAR(128) NOT NULL,
	session_id VARCHAR(36) NOT NULL,
	used_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (credential)
);


CREATE TABLE eval_runs (
	id SERIAL NOT NULL,
	at TIMESTAMP WITH TIME ZONE NOT NULL,
	kind VARCHAR(20) NOT NULL,
	version VARCHAR(60) NOT NULL,
	settings JSON NOT NULL,
	headline JSON NOT NULL,
	result JSON NOT NULL,
	PRIMARY KEY (id)
);

CREATE INDEX ix_eval_runs_at ON eval_runs (at);
CREATE INDEX ix_eval_runs_kind ON eval_runs (kind);

CREATE TABLE flagged_chunks (
	collection VARCHAR(100) NOT NULL,
	chunk_id VARCHAR(36) NOT NULL,
	source VARCHAR(1000) NOT NULL,
	citation VARCHAR(500) NOT NULL,
	flags JSON NOT NULL,
	flagged_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (collection, chunk_id)
);

CREATE INDEX ix_flagged_chunks_source ON flagged_chunks (source);

CREATE TABLE gov_records (
	kind VARCHAR(20) NOT NULL,
	ref VARCHAR(64) NOT NULL,
	data JSON NOT NULL,
	sample BOOLEAN NOT NULL,
	PRIMARY KEY (kind, ref)
);


CREATE TABLE ingested_sources (
	collection VARCHAR(100) NOT NULL,
	source VARCHAR(1000) NOT NULL,
	file_hash VARCHAR(64) NOT NULL,
	signature VARCHAR(64) NOT NULL,
	version_key VARCHAR(500),
	version_date VARCHAR(10),
	status VARCHAR(20) NOT NULL,
	chunks JSON NOT NULL,
	ingested_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (collection, source)
);

CREATE INDEX ix_ingested_sources_version_key ON ingested_sources (version_key);

CREATE TABLE issue_reports (
	id SERIAL NOT NULL,
	tracking_no VARCHAR(32) NOT NULL,
	session_id VARCHAR(36),
	description TEXT NOT NULL,
	item VARCHAR(200),
	contact VARCHAR(100),
	status VARCHAR(20) NOT NULL,
	assignee VARCHAR(100),
	result TEXT,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	assigned_at TIMESTAMP WITH TIME ZONE,
	closed_at TIMESTAMP WITH TIME ZONE,
	PRIMARY KEY (id),
	UNIQUE (tracking_no)
);

CREATE INDEX ix_issue_reports_created_at ON issue_reports (created_at);
CREATE INDEX ix_issue_reports_session_id ON issue_reports (session_id);
CREATE INDEX ix_issue_reports_status ON issue_reports (status);

CREATE TABLE qa_entries (
	id SERIAL NOT NULL,
	status VARCHAR(10) NOT NULL,
	question VARCHAR(200) NOT NULL,
	alternatives JSON NOT NULL,
	answer TEXT NOT NULL,
	item VARCHAR(200),
	department VARCHAR(100),
	effective_from DATE,
	effective_to DATE,
	source VARCHAR(200),
	gap_ids JSON NOT NULL,
	version INTEGER NOT NULL,
	created_by VARCHAR(64) NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	published_at TIMESTAMP WITH TIME ZONE,
	PRIMARY KEY (id)
);

CREATE INDEX ix_qa_entries_status ON qa_entries (status);

CREATE TABLE qa_versions (
	id SERIAL NOT NULL,
	entry_id INTEGER NOT NULL,
	version INTEGER NOT NULL,
	action VARCHAR(20) NOT NULL,
	actor VARCHAR(64) NOT NULL,
	at TIMESTAMP WITH TIME ZONE NOT NULL,
	changes JSON NOT NULL,
	snapshot JSON NOT NULL,
	PRIMARY KEY (id)
);

CREATE INDEX ix_qa_versions_entry_id ON qa_versions (entry_id);

CREATE TABLE staff_tokens (
	token_hash VARCHAR(64) NOT NULL,
	username VARCHAR(32) NOT NULL,
	expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (token_hash)
);

CREATE INDEX ix_staff_tokens_username ON staff_tokens (username);

CREATE TABLE staff_users (
	id SERIAL NOT NULL,
	username VARCHAR(32) NOT NULL,
	display_name VARCHAR(40) NOT NULL,
	role VARCHAR(10) NOT NULL,
	password_hash VARCHAR(200) NOT NULL,
	active BOOLEAN NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	last_seen_at TIMESTAMP WITH TIME ZONE,
	PRIMARY KEY (id),
	UNIQUE (username)
);


CREATE TABLE handoffs (
	id SERIAL NOT NULL,
	session_id VARCHAR(36) NOT NULL,
	reason VARCHAR(200) NOT NULL,
	evidence JSON NOT NULL,
	status VARCHAR(20) NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	helper VARCHAR(64),
	claimed_at TIMESTAMP WITH TIME ZONE,
	first_reply_at TIMESTAMP WITH TIME ZONE,
	closed_at TIMESTAMP WITH TIME ZONE,
	outcome VARCHAR(20),
	requeued INTEGER,
	PRIMARY KEY (id),
	FOREIGN KEY(session_id) REFERENCES chat_sessions (id)
);

CREATE INDEX ix_handoffs_created_at ON handoffs (created_at);
CREATE INDEX ix_handoffs_helper ON handoffs (helper);
CREATE INDEX ix_handoffs_outcome ON handoffs (outcome);
CREATE INDEX ix_handoffs_session_id ON handoffs (session_id);
CREATE INDEX ix_handoffs_status ON handoffs (status);

CREATE TABLE turns (
	id SERIAL NOT NULL,
	session_id VARCHAR(36) NOT NULL,
	role VARCHAR(10) NOT NULL,
	text TEXT NOT NULL,
	path VARCHAR(20),
	intent VARCHAR(20),
	label VARCHAR(40),
	department VARCHAR(100),
	item VARCHAR(200),
	flags JSON NOT NULL,
	ttft_ms DOUBLE PRECISION,
	total_ms DOUBLE PRECISION,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(session_id) REFERENCES chat_sessions (id)
);

CREATE INDEX ix_turns_created_at ON turns (created_at);
CREATE INDEX ix_turns_department ON turns (department);
CREATE INDEX ix_turns_path ON turns (path);
CREATE INDEX ix_turns_report ON turns (role, created_at, path, department, session_id);
CREATE INDEX ix_turns_session_id ON turns (session_id);

CREATE TABLE citations (
	id SERIAL NOT NULL,
	turn_id INTEGER NOT NULL,
	number INTEGER NOT NULL,
	citation VARCHAR(500) NOT NULL,
	"group" VARCHAR(500) NOT NULL,
	doc_type VARCHAR(20) NOT NULL,
	text TEXT NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(turn_id) REFERENCES turns (id)
);

CREATE INDEX ix_citations_group ON citations ("group");
CREATE INDEX ix_citations_turn_cover ON citations (turn_id, doc_type, "group");

CREATE TABLE knowledge_gaps (
	id SERIAL NOT NULL,
	session_id VARCHAR(36) NOT NULL,
	turn_id INTEGER,
	question TEXT NOT NULL,
	reason VARCHAR(40) NOT NULL,
	trace JSON NOT NULL,
	status VARCHAR(20) NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	due_date DATE,
	entry_id INTEGER,
	closed_at TIMESTAMP WITH TIME ZONE,
	PRIMARY KEY (id),
	FOREIGN KEY(session_id) REFERENCES chat_sessions (id),
	FOREIGN KEY(turn_id) REFERENCES turns (id)
);

CREATE INDEX ix_knowledge_gaps_created_at ON knowledge_gaps (created_at);
CREATE INDEX ix_knowledge_gaps_entry_id ON knowledge_gaps (entry_id);
CREATE INDEX ix_knowledge_gaps_session_id ON knowledge_gaps (session_id);
CREATE INDEX ix_knowledge_gaps_status ON knowledge_gaps (status);

CREATE TABLE ratings (
	id SERIAL NOT NULL,
	turn_id INTEGER NOT NULL,
	value VARCHAR(10) NOT NULL,
	comment TEXT,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(turn_id) REFERENCES turns (id)
);

CREATE INDEX ix_ratings_created ON ratings (created_at, value);
CREATE INDEX ix_ratings_turn_id ON ratings (turn_id);

CREATE TABLE tool_calls (
	id SERIAL NOT NULL,
	turn_id INTEGER NOT NULL,
	name VARCHAR(50) NOT NULL,
	arguments JSON NOT NULL,
	result JSON NOT NULL,
	ok BOOLEAN NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(turn_id) REFERENCES turns (id)
);

CREATE INDEX ix_tool_calls_turn_id ON tool_calls (turn_id);

