package validate

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// The CloudNativePG module cannot be fetched through the Go module proxy used here and would
// bring controller-runtime with it, so the resources deploy/ uses are checked against this
// subset of the postgresql.cnpg.io/v1 schema (field names and types as in CNPG 1.25+),
// decoded strictly: a misspelt or unknown field fails like it would at admission.

// Cluster is postgresql.cnpg.io/v1 Cluster.
type Cluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ClusterSpec `json:"spec"`
}

type ClusterSpec struct {
	Instances             int                  `json:"instances"`
	ImageName             string               `json:"imageName,omitempty"`
	PrimaryUpdateStrategy string               `json:"primaryUpdateStrategy,omitempty"`
	PostgreSQL            *PostgresConfig      `json:"postgresql,omitempty"`
	Bootstrap             *Bootstrap           `json:"bootstrap,omitempty"`
	Managed               *Managed             `json:"managed,omitempty"`
	Storage               *Storage             `json:"storage,omitempty"`
	WALStorage            *Storage             `json:"walStorage,omitempty"`
	Resources             *Resources           `json:"resources,omitempty"`
	Affinity              *Affinity            `json:"affinity,omitempty"`
	Monitoring            *ClusterMonitoring   `json:"monitoring,omitempty"`
	Backup                *BackupConfiguration `json:"backup,omitempty"`
}

type PostgresConfig struct {
	Synchronous *Synchronous      `json:"synchronous,omitempty"`
	Parameters  map[string]string `json:"parameters,omitempty"`
}

type Synchronous struct {
	Method         string `json:"method"`
	Number         int    `json:"number"`
	DataDurability string `json:"dataDurability,omitempty"`
}

type Bootstrap struct {
	InitDB *InitDB `json:"initdb,omitempty"`
}

type InitDB struct {
	Database      string     `json:"database"`
	Owner         string     `json:"owner"`
	Secret        *LocalName `json:"secret,omitempty"`
	DataChecksums bool       `json:"dataChecksums,omitempty"`
}

type LocalName struct {
	Name string `json:"name"`
}

type SecretKey struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

type Managed struct {
	Roles []Role `json:"roles"`
}

type Role struct {
	Name            string     `json:"name"`
	Ensure          string     `json:"ensure,omitempty"`
	Comment         string     `json:"comment,omitempty"`
	Login           bool       `json:"login,omitempty"`
	Superuser       bool       `json:"superuser,omitempty"`
	CreateDB        bool       `json:"createdb,omitempty"`
	CreateRole      bool       `json:"createrole,omitempty"`
	ConnectionLimit int        `json:"connectionLimit,omitempty"`
	PasswordSecret  *LocalName `json:"passwordSecret,omitempty"`
	InRoles         []string   `json:"inRoles,omitempty"`
}

type Storage struct {
	Size         string `json:"size"`
	StorageClass string `json:"storageClass,omitempty"`
}

type Resources struct {
	Requests map[string]string `json:"requests,omitempty"`
	Limits   map[string]string `json:"limits,omitempty"`
}

type Affinity struct {
	EnablePodAntiAffinity bool   `json:"enablePodAntiAffinity,omitempty"`
	TopologyKey           string `json:"topologyKey,omitempty"`
	PodAntiAffinityType   string `json:"podAntiAffinityType,omitempty"`
}

type ClusterMonitoring struct {
	EnablePodMonitor bool `json:"enablePodMonitor,omitempty"`
}

type BackupConfiguration struct {
	RetentionPolicy   string             `json:"retentionPolicy,omitempty"`
	BarmanObjectStore *BarmanObjectStore `json:"barmanObjectStore,omitempty"`
}

type BarmanObjectStore struct {
	DestinationPath string         `json:"destinationPath"`
	EndpointURL     string         `json:"endpointURL,omitempty"`
	S3Credentials   *S3Credentials `json:"s3Credentials,omitempty"`
	WAL             *WALBackup     `json:"wal,omitempty"`
	Data            *DataBackup    `json:"data,omitempty"`
}

type S3Credentials struct {
	AccessKeyID     *SecretKey `json:"accessKeyId,omitempty"`
	SecretAccessKey *SecretKey `json:"secretAccessKey,omitempty"`
}

type WALBackup struct {
	Compression string `json:"compression,omitempty"`
	Encryption  string `json:"encryption,omitempty"`
	MaxParallel int    `json:"maxParallel,omitempty"`
}

type DataBackup struct {
	Compression string `json:"compression,omitempty"`
	Encryption  string `json:"encryption,omitempty"`
}

// ScheduledBackup is postgresql.cnpg.io/v1 ScheduledBackup.
type ScheduledBackup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Schedule             string    `json:"schedule"`
		BackupOwnerReference string    `json:"backupOwnerReference,omitempty"`
		Method               string    `json:"method,omitempty"`
		Cluster              LocalName `json:"cluster"`
	} `json:"spec"`
}

// Database is postgresql.cnpg.io/v1 Database.
type Database struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Name    string    `json:"name"`
		Owner   string    `json:"owner"`
		Ensure  string    `json:"ensure,omitempty"`
		Cluster LocalName `json:"cluster"`
	} `json:"spec"`
}
