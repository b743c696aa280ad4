package submit_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/crdgen"
	"github.com/sparkplane/sparkplane/internal/profile"
	"github.com/sparkplane/sparkplane/internal/submit"
)

// fuzzSchemas holds the SparkApplication and SparkProfile schemas from the
// very CRDs the API server serves, with OpenAPI validators for them
// (kube-openapi's, which the API server's CRD validation is built on; the
// CRDs' CEL rules are not applied, so specs they would refuse reach Build
// too).
type fuzzSchemas struct {
	app, prof                   *apiextensionsv1.JSONSchemaProps
	appValidator, profValidator *validate.SchemaValidator
}

// openAPIValidator reads a CRD schema as the OpenAPI schema it is.
func openAPIValidator(schema *apiextensionsv1.JSONSchemaProps) (*validate.SchemaValidator, error) {
	data, err := json.Marshal(schema)
	if err != nil {
		return nil, err
	}
	openapi := &spec.Schema{}
	if err := json.Unmarshal(data, openapi); err != nil {
		return nil, err
	}
	return validate.NewSchemaValidator(openapi, nil, "", strfmt.Default), nil
}

func loadFuzzSchemas(t testing.TB) *fuzzSchemas {
	t.Helper()
	crds, err := v1alpha1.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	s := &fuzzSchemas{}
	for _, crd := range crds {
		schema, err := crdgen.Schema(crd)
		if err != nil {
			t.Fatal(err)
		}
		validator, err := openAPIValidator(schema)
		if err != nil {
			t.Fatal(err)
		}
		switch crd.Spec.Names.Kind {
		case "SparkApplication":
			s.app, s.appValidator = schema, validator
		case "SparkProfile":
			s.prof, s.profValidator = schema, validator
		}
	}
	if s.app == nil || s.prof == nil {
		t.Fatal("the embedded CRDs lack SparkApplication or SparkProfile")
	}
	return s
}

// Outcomes of one generated case.
const (
	outcomeNotOpenAPIValid = "not valid by the OpenAPI schema (the API server refuses it)"
	outcomeRefusedResolve  = "refused by the resolver, naming a field"
	outcomeRefusedBuild    = "refused by submit.Build, naming a field"
	outcomeBuilt           = "built"
)

// namesAField matches an error that points at a field: spec.x,
// spec.sparkConf[key], metadata.uid, ...
var namesAField = regexp.MustCompile(`\b(spec|metadata)(\.[A-Za-z]|\[)`)

// fuzzCase generates an application and a profile from seed, resolves and
// builds them, and returns the outcome; a refusal that names no field, an
// object the API server would accept but the Go types cannot decode, or a
// panic fails t.
func (s *fuzzSchemas) fuzzCase(t testing.TB, seed uint64) (outcome string) {
	t.Helper()
	g := crdgen.New(seed)
	appSpec, profSpec := s.app.Properties["spec"], s.prof.Properties["spec"]
	spec := g.Object(&appSpec)
	// A third of the cases are a runnable application with a few generated
	// fields, a third generated fields over a runnable base, a third all
	// generated: refusals alone would never reach the builder's later steps.
	switch seed % 3 {
	case 0:
		generated, picked := spec, 0
		spec = runnableSpec()
		for key, value := range generated {
			if picked < 3 {
				spec[key] = value
				picked++
			}
		}
	case 1:
		for key, value := range runnableSpec() {
			spec[key] = value
		}
	}
	app := map[string]any{
		"apiVersion": v1alpha1.GroupVersion.String(), "kind": "SparkApplication",
		"metadata": map[string]any{"name": "fuzz", "namespace": "analytics", "uid": "7c1e0f4e-0000-4000-8000-" + fmt.Sprintf("%012d", seed%1e12)},
		"spec":     spec,
	}
	profileName := "fuzz-profile"
	if name, ok := spec["profile"].(string); ok && name != "" && g.Value(&apiextensionsv1.JSONSchemaProps{Type: "boolean"}, 0) == true {
		profileName = name
	}
	prof := map[string]any{
		"apiVersion": v1alpha1.GroupVersion.String(), "kind": "SparkProfile",
		"metadata": map[string]any{"name": profileName},
		"spec":     g.Object(&profSpec),
	}
	if !s.appValidator.Validate(app).IsValid() {
		return outcomeNotOpenAPIValid
	}
	profileValid := s.profValidator.Validate(prof).IsValid()

	var typedApp v1alpha1.SparkApplication
	if err := roundTrip(app, &typedApp); err != nil {
		t.Errorf("seed %d: the API server accepts this SparkApplication but its Go type cannot decode it: %v", seed, err)
		return outcomeNotOpenAPIValid
	}
	profiles := []v1alpha1.SparkProfile{}
	for _, p := range profile.BuiltinProfiles() {
		profiles = append(profiles, *p)
	}
	if profileValid {
		var typedProf v1alpha1.SparkProfile
		if err := roundTrip(prof, &typedProf); err != nil {
			t.Errorf("seed %d: the API server accepts this SparkProfile but its Go type cannot decode it: %v", seed, err)
		} else {
			profiles = append(profiles, typedProf)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			spec, _ := json.Marshal(app)
			t.Errorf("seed %d: panic: %v\nspec: %.2000s", seed, r, spec)
			outcome = "panic"
		}
	}()
	res, err := profile.Resolve(profile.ResolveInput{Application: &typedApp, Profiles: profiles})
	if err != nil {
		if !namesAField.MatchString(err.Error()) {
			t.Errorf("seed %d: the resolver's refusal names no field: %v", seed, err)
		}
		return outcomeRefusedResolve
	}
	attempt := int32(1 + seed%3)
	objs, err := submit.Build(res.Application, submit.Options{Attempt: attempt})
	if err != nil {
		if !namesAField.MatchString(err.Error()) {
			t.Errorf("seed %d: submit.Build's refusal names no field: %v", seed, err)
		}
		return outcomeRefusedBuild
	}
	if objs.DriverPod == nil || objs.ConfConfigMap == nil || objs.DriverService == nil || objs.PodTemplateConfigMap == nil {
		t.Errorf("seed %d: Build returned no error but not every object: %+v", seed, objs)
	}
	if errs := validateNames(objs); len(errs) > 0 {
		t.Errorf("seed %d: Build made objects the API server would refuse: %v", seed, errs.ToAggregate())
	}
	return outcomeBuilt
}

// runnableSpec is a SparkPi application that builds.
func runnableSpec() map[string]any {
	return map[string]any{
		"type": "Scala", "sparkVersion": "3.5.3", "image": "apache/spark:3.5.3",
		"mainClass": "org.apache.spark.examples.SparkPi", "mainApplicationFile": "local:///opt/spark/examples/jars/spark-examples.jar",
		"driver": map[string]any{}, "executor": map[string]any{},
	}
}

// validateNames checks what the API server checks first on every object
// Build returns: a name of at most 253 characters (63 for a Service).
func validateNames(objs *submit.Objects) field.ErrorList {
	var errs field.ErrorList
	for _, o := range append(objs.Dependents(), objs.DriverPod) {
		if n := len(o.GetName()); n == 0 || n > 253 {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), o.GetName(), "length "+strconv.Itoa(n)))
		}
	}
	if n := len(objs.DriverService.Name); n > 63 {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), objs.DriverService.Name, "a Service name is at most 63 characters"))
	}
	return errs
}

func roundTrip(in map[string]any, out any) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}

// TestBuildFromGeneratedSpecs is the bounded run of FuzzBuildFromSchema
// (make test runs it): cases generated from the CRD schemas, each resolved
// and built; 0 panics, every refusal names a field. It prints how many cases
// ended how. SPARKPLANE_FUZZ_CASES sets the count.
func TestBuildFromGeneratedSpecs(t *testing.T) {
	cases := 2000
	if v, err := strconv.Atoi(os.Getenv("SPARKPLANE_FUZZ_CASES")); err == nil && v > 0 {
		cases = v
	}
	s := loadFuzzSchemas(t)
	counts := map[string]int{}
	for seed := uint64(1); seed <= uint64(cases); seed++ {
		counts[s.fuzzCase(t, seed)]++
	}
	for _, o := range []string{outcomeNotOpenAPIValid, outcomeRefusedResolve, outcomeRefusedBuild, outcomeBuilt, "panic"} {
		t.Logf("FUZZ %d of %d generated cases: %s", counts[o], cases, o)
	}
	valid := cases - counts[outcomeNotOpenAPIValid]
	// A generator whose output the schema always refuses would test nothing.
	if valid < cases/5 {
		t.Errorf("only %d of %d generated SparkApplications are valid by the OpenAPI schema: the generator no longer follows the schema", valid, cases)
	}
	if counts[outcomeBuilt] == 0 || counts[outcomeRefusedBuild]+counts[outcomeRefusedResolve] == 0 {
		t.Errorf("want both built and refused cases among the valid ones, got %v", counts)
	}
}

// FuzzBuildFromSchema: `go test ./internal/submit -fuzz FuzzBuildFromSchema`.
// The fuzzer's bytes seed the schema-driven generator.
func FuzzBuildFromSchema(f *testing.F) {
	for _, seed := range []uint64{1, 2, 3, 42, 1 << 40} {
		f.Add(binary.LittleEndian.AppendUint64(nil, seed))
	}
	s := loadFuzzSchemas(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var buf [8]byte
		copy(buf[:], data)
		s.fuzzCase(t, binary.LittleEndian.Uint64(buf[:]))
	})
}
