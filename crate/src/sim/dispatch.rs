//! The narrow phase's query dispatcher: parry's default one restricted to convex
//! primitives (the only colliders the scenes build: cuboids, cylinders, capsules).
//!
//! Every pair the scenes produce goes through exactly the code parry's
//! `DefaultQueryDispatcher` runs for it (its convex-convex branch), so contacts are
//! bit-identical. What changes is what the linker keeps: the default dispatcher's
//! `contact_manifolds` also drives triangle meshes, height fields, voxels and
//! composite shapes, and that code is never reached here. Any other shape is reported as unsupported (no contact) instead.

use rapier3d::geometry::{ContactData, ContactManifoldData};
use rapier3d::parry::math::{Pose, Real, Vector};
use rapier3d::parry::query::details::{NormalConstraints, ShapeCastOptions};
use rapier3d::parry::query::{
    ClosestPoints, Contact, ContactManifold, ContactManifoldsWorkspace, DefaultQueryDispatcher,
    NonlinearRigidMotion, PersistentQueryDispatcher, QueryDispatcher, ShapeCastHit, ShapeDistance,
    ShapeIntersection, Unsupported,
};
use rapier3d::parry::shape::{Shape, ShapeType};

/// Parry's default dispatcher, restricted to convex primitives for contact manifolds.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConvexDispatcher;

fn is_convex_primitive(s: &dyn Shape) -> bool {
    matches!(
        s.shape_type(),
        ShapeType::Ball
            | ShapeType::Cuboid
            | ShapeType::Capsule
            | ShapeType::Cylinder
            | ShapeType::Cone
            | ShapeType::ConvexPolyhedron
            | ShapeType::RoundCuboid
            | ShapeType::RoundCylinder
            | ShapeType::RoundCone
            | ShapeType::RoundConvexPolyhedron
    )
}

impl QueryDispatcher for ConvexDispatcher {
    fn intersection_test(
        &self,
        pos12: &Pose,
        g1: &dyn Shape,
        g2: &dyn Shape,
    ) -> Result<ShapeIntersection, Unsupported> {
        // The default dispatcher's branches for convex primitives, in its order: its
        // own function also reaches composite shapes and voxels, and keeps them linked.
        use rapier3d::parry::query::details as d;
        if let (Some(b1), Some(b2)) = (g1.as_ball(), g2.as_ball()) {
            Ok(d::intersection_test_ball_ball(pos12.translation, b1, b2).into())
        } else if let (Some(c1), Some(c2)) = (g1.as_cuboid(), g2.as_cuboid()) {
            Ok(d::intersection_test_cuboid_cuboid(pos12, c1, c2).into())
        } else if !is_convex_primitive(g1) || !is_convex_primitive(g2) {
            Err(Unsupported)
        } else if let Some(b1) = g1.as_ball() {
            Ok(d::intersection_test_ball_point_query(pos12, b1, g2))
        } else if let Some(b2) = g2.as_ball() {
            Ok(d::intersection_test_point_query_ball(pos12, g1, b2))
        } else if let (Some(s1), Some(s2)) = (g1.as_support_map(), g2.as_support_map()) {
            Ok(d::intersection_test_support_map_support_map(pos12, s1, s2).into())
        } else {
            Err(Unsupported)
        }
    }
    fn distance(
        &self,
        pos12: &Pose,
        g1: &dyn Shape,
        g2: &dyn Shape,
    ) -> Result<ShapeDistance, Unsupported> {
        DefaultQueryDispatcher.distance(pos12, g1, g2)
    }
    fn contact(
        &self,
        pos12: &Pose,
        g1: &dyn Shape,
        g2: &dyn Shape,
        prediction: Real,
    ) -> Result<Option<Contact>, Unsupported> {
        DefaultQueryDispatcher.contact(pos12, g1, g2, prediction)
    }
    fn closest_points(
        &self,
        pos12: &Pose,
        g1: &dyn Shape,
        g2: &dyn Shape,
        max_dist: Real,
    ) -> Result<ClosestPoints, Unsupported> {
        DefaultQueryDispatcher.closest_points(pos12, g1, g2, max_dist)
    }
    fn cast_shapes(
        &self,
        pos12: &Pose,
        local_vel12: Vector,
        g1: &dyn Shape,
        g2: &dyn Shape,
        options: ShapeCastOptions,
    ) -> Result<Option<ShapeCastHit>, Unsupported> {
        DefaultQueryDispatcher.cast_shapes(pos12, local_vel12, g1, g2, options)
    }
    fn cast_shapes_nonlinear(
        &self,
        motion1: &NonlinearRigidMotion,
        g1: &dyn Shape,
        motion2: &NonlinearRigidMotion,
        g2: &dyn Shape,
        start_time: Real,
        end_time: Real,
        stop_at_penetration: bool,
    ) -> Result<Option<ShapeCastHit>, Unsupported> {
        DefaultQueryDispatcher.cast_shapes_nonlinear(
            motion1,
            g1,
            motion2,
            g2,
            start_time,
            end_time,
            stop_at_penetration,
        )
    }
}

impl PersistentQueryDispatcher<ContactManifoldData, ContactData> for ConvexDispatcher {
    fn contact_manifolds(
        &self,
        pos12: &Pose,
        g1: &dyn Shape,
        g2: &dyn Shape,
        prediction: Real,
        manifolds: &mut Vec<ContactManifold<ContactManifoldData, ContactData>>,
        _workspace: &mut Option<ContactManifoldsWorkspace>,
    ) -> Result<(), Unsupported> {
        if !is_convex_primitive(g1) || !is_convex_primitive(g2) {
            return Err(Unsupported);
        }
        // The default dispatcher's branch for two non-composite convex shapes.
        if manifolds.is_empty() {
            manifolds.push(ContactManifold::new());
        }
        self.contact_manifold_convex_convex(
            pos12,
            g1,
            g2,
            None,
            None,
            prediction,
            &mut manifolds[0],
        )
    }

    fn contact_manifold_convex_convex(
        &self,
        pos12: &Pose,
        g1: &dyn Shape,
        g2: &dyn Shape,
        normal_constraints1: Option<&dyn NormalConstraints>,
        normal_constraints2: Option<&dyn NormalConstraints>,
        prediction: Real,
        manifold: &mut ContactManifold<ContactManifoldData, ContactData>,
    ) -> Result<(), Unsupported> {
        <DefaultQueryDispatcher as PersistentQueryDispatcher<ContactManifoldData, ContactData>>::contact_manifold_convex_convex(
            &DefaultQueryDispatcher,
            pos12,
            g1,
            g2,
            normal_constraints1,
            normal_constraints2,
            prediction,
            manifold,
        )
    }
}
