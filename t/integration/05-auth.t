#!/usr/bin/perl
# Identity: every way a bearer token can be missing or wrong is a 401
# problem with an RFC 6750 challenge; then the IngestTenantEnv mode, where
# another module (here mod_setenvif) names the tenant.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Digest::SHA qw(hmac_sha256 hmac_sha384 hmac_sha512);
use IngestTest;

my $UNAUTH = 'urn:mod-ingest:problem:unauthorized';

# A token signed with an HMAC of our choosing; the header names $alg.
sub signed_with {
    my ($t, $alg, $fn, $claims) = @_;
    my $h = IngestTest::b64url($IngestTest::JSON->encode({ alg => $alg, typ => 'JWT' }));
    my $p = IngestTest::b64url($IngestTest::JSON->encode($claims));
    return "$h.$p." . IngestTest::b64url($fn->("$h.$p", $t->{jwt_secret}));
}

# Checks one refused request: 401, problem+json, the problem type, and the
# challenge (with error="invalid_token" exactly when a token was presented).
sub refused {
    my ($r, $name, %o) = @_;
    subtest $name => sub {
        is($r->{status}, 401, 'status is 401');
        is($r->{headers}{'content-type'}, 'application/problem+json', 'problem+json');
        is($r->{json}{type}, $UNAUTH, 'type unauthorized');
        is($r->{json}{status}, 401, 'status member 401');
        my $ch = $r->{headers}{'www-authenticate'} // '';
        like($ch, qr/^Bearer realm="ingest"/, 'WWW-Authenticate: Bearer realm="ingest"');
        if ($o{token_seen}) {
            like($ch, qr/\berror="invalid_token"/, 'error="invalid_token"');
        }
        else {
            unlike($ch, qr/\berror=/, 'no error attribute (no token presented)');
        }
        like($r->{json}{detail}, $o{detail}, 'detail says why: ' . ($r->{json}{detail} // '')) if $o{detail};
    };
}

my $t = IngestTest->new;
my $now = time;
my %good = (org_id => 'org-a', sub => 'alice', exp => $now + 3600);
my $valid = $t->jwt({%good});

# --- no token at all ----------------------------------------------------------
refused($t->request('GET', '/api/ingest/stats'), 'no Authorization header', detail => qr/bearer token is required/);
refused($t->request('GET', '/api/ingest/stats', headers => { Authorization => 'Basic xxx' }), '"Basic xxx" scheme');
refused($t->request('GET', '/api/ingest/stats', headers => { Authorization => 'Bearer' }), '"Bearer" with no token');
refused($t->request('GET', '/api/ingest/stats', headers => { Authorization => 'Bearer    ' }), '"Bearer" and blanks');
refused($t->request('GET', '/api/ingest/stats', headers => { Authorization => "Bearer$valid" }),
    '"Bearer" glued to the token is not the bearer scheme');

# every tenant-scoped route requires it
refused($t->request('GET', '/api/ingest/jobs'), 'no token: GET jobs');
refused($t->request('POST', '/api/ingest/init', json => { filename => 'a.csv', file_type => 'csv', file_size => 1 }),
    'no token: POST init');
refused($t->request('GET', '/api/ingest/status/00000000-0000-4000-8000-000000000000'), 'no token: GET status');
refused($t->request('DELETE', '/api/ingest/00000000-0000-4000-8000-000000000000'), 'no token: DELETE');
is($t->psql('SELECT count(*) FROM ingest_jobs'), '0', 'refused init created no row');

# --- a token, but not a good one ------------------------------------------------
my @bad = (
    ['garbage token', 'not-a-jwt', qr/malformed/],
    ['three garbage segments', 'aaa.bbb.ccc', qr/malformed|signature/],
    ['empty segments (a libjwt overflow)', '..', qr/malformed/],
    ['one-character segments', 'a.b.c', qr/malformed/],
    ['padded segments', 'aaaa=.bbbb.cccc', qr/malformed/],
    ['wrong secret', $t->jwt({%good}, secret => 'some-other-secret-0123456789'), qr/signature/],
);
{
    my ($h, undef, $sig) = split /\./, $valid;
    my $p = IngestTest::b64url($IngestTest::JSON->encode({ %good, org_id => 'org-b' }));
    push @bad, ['tampered payload, old signature', "$h.$p.$sig", qr/signature/];
}
push @bad,
    ['alg "none"', $t->jwt({%good}, header => { alg => 'none', typ => 'JWT' }), qr/malformed|signature|HS256/],
    ['alg "none" with a stray signature', $t->jwt({%good}, header => { alg => 'none', typ => 'JWT' }) . 'c2ln', qr/malformed|signature|HS256/],
    ['HS512 signed with the right secret', signed_with($t, 'HS512', \&hmac_sha512, {%good}), qr/not signed with HS256/],
    ['HS384 signed with the right secret', signed_with($t, 'HS384', \&hmac_sha384, {%good}), qr/not signed with HS256/],
    ['header says HS512, HS256 signature', signed_with($t, 'HS512', \&hmac_sha256, {%good}), qr/signature does not verify/],
    ['expired exp', $t->jwt({ %good, exp => $now - 60 }), qr/expired/],
    ['exp equal to now is expired', $t->jwt({ %good, exp => time }), qr/expired/],
    ['future nbf', $t->jwt({ %good, nbf => $now + 3600 }), qr/nbf/],
    ['exp given as a string', $t->jwt({ %good, exp => '' . ($now + 3600) }), qr/exp claim is not a number/],
    ['nbf given as a string', $t->jwt({ %good, nbf => '' . ($now - 60) }), qr/nbf claim is not a number/],
    ['missing org_id', $t->jwt({ sub => 'alice', exp => $now + 3600 }), qr/org_id/],
    ['missing sub', $t->jwt({ org_id => 'org-a', exp => $now + 3600 }), qr/sub/],
    ['org_id empty string', $t->jwt({ %good, org_id => '' }), qr/org_id/],
    ['org_id with a space', $t->jwt({ %good, org_id => 'org a' }), qr/printable ASCII without spaces/],
    ['org_id 129 characters', $t->jwt({ %good, org_id => 'o' x 129 }), qr/128/],
    ['org_id non-ASCII', $t->jwt({ %good, org_id => "org-\x{e9}" }), qr/printable ASCII/],
    ['org_id boolean', $t->jwt({ %good, org_id => JSON::PP::true }), qr/org_id/],
    ['org_id object', $t->jwt({ %good, org_id => { id => 'x' } }), qr/org_id/],
    ['sub empty string', $t->jwt({ %good, sub => '' }), qr/sub/],
    ['sub 256 bytes', $t->jwt({ %good, sub => 'u' x 256 }), qr/sub/],
    ['claims are an array', $t->jwt('["org-a"]'), qr/claims/];

for my $b (@bad) {
    my ($name, $token, $detail) = @$b;
    refused($t->request('GET', '/api/ingest/stats', token => $token), $name, token_seen => 1, detail => $detail);
}
refused($t->request('POST', '/api/ingest/init', token => $t->jwt({ %good, exp => $now - 60 }),
    json => { filename => 'a.csv', file_type => 'csv', file_size => 1 }), 'expired token on POST init', token_seen => 1);
is($t->psql('SELECT count(*) FROM ingest_jobs'), '0', 'no refused request created a row');

# --- good tokens --------------------------------------------------------------------
my $r = $t->request('GET', '/api/ingest/stats', token => $valid);
is($r->{status}, 200, 'a valid token works');
is($r->{json}{total}, 0, 'stats of a fresh tenant');
ok(!exists $r->{headers}{'www-authenticate'}, 'no challenge on success');
$r = $t->request('GET', '/api/ingest/stats', headers => { Authorization => "bearer $valid" });
is($r->{status}, 200, 'the scheme name is case-insensitive');
$r = $t->request('GET', '/api/ingest/stats', token => $t->jwt({ %good, org_id => 'o' x 128 }));
is($r->{status}, 200, 'org_id of 128 characters is accepted');
$r = $t->request('GET', '/api/ingest/stats', token => $t->jwt({ org_id => 'org-a', sub => 'alice' }));
is($r->{status}, 401, 'a token without exp is refused (IngestJWTRequireExp On by default)');
like($r->{json}{detail} // '', qr/^the token has no exp claim$/, 'and told why');
$r = $t->request('GET', '/api/ingest/stats', token => $t->jwt({ %good, nbf => $now - 60 }));
is($r->{status}, 200, 'a past nbf is accepted');

$r = $t->request('GET', '/api/ingest/health');
is($r->{status}, 200, 'health needs no token');
ok(!exists $r->{headers}{'www-authenticate'}, 'and sends no challenge');
$r = $t->request('GET', '/api/ingest/health', token => 'garbage');
is($r->{status}, 200, 'health ignores a bad token');

undef $t;

# --- IngestTenantEnv mode ----------------------------------------------------------
my $e = IngestTest->new(extra => "<Location /api/>\n  IngestTenantEnv DEMO_TENANT\n"
        . "  SetEnvIf X-Demo-Tenant \"^(.+)\$\" DEMO_TENANT=\$1\n</Location>");
my %env = ('X-Demo-Tenant' => 'envorg');

$r = $e->request('POST', '/api/ingest/init', headers => {%env},
    json => { filename => 'env.csv', file_type => 'csv', file_size => 5 });
is($r->{status}, 201, 'env mode: init with X-Demo-Tenant and no token');
my $env_job = $r->{json}{job_id};
is($r->{json}{tenant_id}, 'envorg', 'env mode: job tenant is envorg');
is($r->{json}{user_id}, undef, 'env mode: no r->user, user_id null');
is($e->psql("SELECT tenant_id || '|' || coalesce(user_id, '<null>') FROM ingest_jobs WHERE job_id = '$env_job'"),
    'envorg|<null>', 'env mode: row has tenant envorg and user_id NULL');

$r = $e->request('GET', '/api/ingest/jobs', headers => {%env});
is($r->{status}, 200, 'env mode: list');
is($r->{json}{total}, 1, 'env mode: one job');
is($r->{json}{jobs}[0]{job_id}, $env_job, 'env mode: the job is in envorg\'s list');
$r = $e->request('GET', "/api/ingest/status/$env_job", headers => {%env});
is($r->{status}, 200, 'env mode: status');
$r = $e->request('GET', '/api/ingest/stats', headers => {%env});
is($r->{json}{total}, 1, 'env mode: stats count it');

$r = $e->request('GET', '/api/ingest/jobs?user=me', headers => {%env});
is($r->{status}, 422, 'env mode: user=me without a user is 422');
is($r->{json}{field}, 'user', 'env mode: the problem names field "user"');
is($r->{json}{type}, 'urn:mod-ingest:problem:invalid-field', 'env mode: invalid-field problem');

refused($e->request('GET', '/api/ingest/jobs'), 'env mode: no header, no token');
refused($e->request('GET', '/api/ingest/jobs', token => 'garbage'), 'env mode: no header, bad token', token_seen => 1);
refused($e->request('GET', '/api/ingest/jobs', headers => { 'X-Demo-Tenant' => 'bad tenant' }),
    'env mode: unusable tenant in the variable', detail => qr/spaces/);

my $tok = $e->token('tokorg', 'tina');
$r = $e->request('GET', '/api/ingest/stats', token => $tok);
is($r->{status}, 200, 'env mode: no header but a valid token works');
is($r->{json}{total}, 0, 'env mode: as the token\'s tenant (not envorg)');
my $tok_job = $e->init_job($tok)->{job_id};
is($e->psql("SELECT tenant_id || '|' || coalesce(user_id, '<null>') FROM ingest_jobs WHERE job_id = '$tok_job'"),
    'tokorg|tina', 'env mode: token job row is tokorg/tina');
$r = $e->request('GET', '/api/ingest/jobs?user=me', token => $tok);
is($r->{status}, 200, 'env mode: user=me works with a token');
is_deeply([map { $_->{job_id} } @{ $r->{json}{jobs} }], [$tok_job], 'env mode: user=me lists the token user\'s job');

my $other = $e->token('other', 'olga');
$r = $e->request('GET', "/api/ingest/status/$env_job", token => $other);
is($r->{status}, 404, 'env mode: envorg\'s job is a 404 for token tenant "other"');
$r = $e->request('DELETE', "/api/ingest/$env_job", token => $other);
is($r->{status}, 404, 'env mode: and cannot be deleted by it');
$r = $e->request('GET', '/api/ingest/jobs', token => $other);
is($r->{json}{total}, 0, 'env mode: "other" lists nothing');
$r = $e->request('GET', "/api/ingest/status/$tok_job", headers => {%env});
is($r->{status}, 404, 'env mode: envorg cannot read tokorg\'s job');
$r = $e->request('GET', "/api/ingest/status/$env_job", headers => {%env});
is($r->{status}, 200, 'env mode: envorg\'s job survived');

$r = $e->request('GET', '/api/ingest/health');
is($r->{status}, 200, 'env mode: health needs nothing');

# ---- IngestJWTRequireExp Off, IngestJWTLeeway, IngestJWTIssuer, IngestJWTAudience
{
    my $p = IngestTest->new(extra => "IngestJWTLeeway 60\nIngestJWTIssuer https://idp.test/\nIngestJWTAudience ingest\n"
        . "<Location /api/ingest/stats>\nIngestJWTRequireExp Off\n</Location>\n");
    my %ok = (org_id => 'org-p', sub => 'pat', iss => 'https://idp.test/', aud => 'ingest', exp => time + 600);
    my $get = sub { $p->request('GET', '/api/ingest/jobs', token => $p->jwt({ %ok, @_ })) };
    is($get->()->{status}, 200, 'issuer and audience as configured: accepted');
    is($get->(aud => ['other', 'ingest'])->{status}, 200, 'aud as an array naming this service: accepted');
    is($get->(exp => time - 30)->{status}, 200, 'expired 30 s ago, within a 60 s leeway: accepted');
    my $r = $get->(exp => time - 90);
    is($r->{status}, 401, 'expired 90 s ago: refused');
    like($r->{json}{detail} // '', qr/expired/, 'as expired');
    $r = $get->(iss => 'https://evil.test/');
    is($r->{status}, 401, 'another issuer: refused');
    like($r->{json}{detail} // '', qr/^the token's iss claim is not the expected issuer$/, 'said so');
    $r = $get->(aud => 'other');
    is($r->{status}, 401, 'another audience: refused');
    like($r->{json}{detail} // '', qr/^the token's aud claim does not name this service$/, 'said so');
    my %noexp = %ok;
    delete $noexp{exp};
    is($p->request('GET', '/api/ingest/jobs', token => $p->jwt({%noexp}))->{status}, 401,
        'no exp: refused where IngestJWTRequireExp is inherited');
    is($p->request('GET', '/api/ingest/stats', token => $p->jwt({%noexp}))->{status}, 200,
        'no exp: accepted in a <Location> with IngestJWTRequireExp Off');
}

done_testing;
